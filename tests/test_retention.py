"""Retention: conversations older than RETENTION_DAYS leave the tracker store and the broker table."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import db
from bot.retention import TRACKER_EVENTS, purge
from bot.review.ingest import BROKER_EVENTS
from bot.settings import PROJECT_ROOT

DAY = 86400.0


def _save(db_path: Path, sender: str, stamps: list[float]) -> None:
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(db_path))
    tracker = DialogueStateTracker(sender, slots=[])
    for stamp in stamps:
        tracker.update(UserUttered(f"message at {stamp}", timestamp=stamp))
    asyncio.run(store.save(tracker))


def _senders(url: str) -> set[str]:
    with db.get_engine(url).connect() as connection:
        return {row.sender_id for row in connection.execute(select(TRACKER_EVENTS.c.sender_id).distinct())}


def test_purge_deletes_whole_conversations_whose_newest_event_is_too_old(tmp_path: Path) -> None:
    now = time.time()
    tracker_db = tmp_path / "tracker.db"
    _save(tracker_db, "old", [now - 40 * DAY, now - 35 * DAY])
    _save(tracker_db, "still-going", [now - 40 * DAY, now - 2 * DAY])
    _save(tracker_db, "new", [now - 1 * DAY])
    broker_url = f"sqlite:///{tmp_path / 'events.db'}"
    broker = db.get_engine(broker_url)
    BROKER_EVENTS.metadata.create_all(broker)
    with broker.begin() as connection:
        for sender in ("old", "new"):
            connection.execute(BROKER_EVENTS.insert(), [{"sender_id": sender, "data": json.dumps({"event": "user"})}])

    url = f"sqlite:///{tracker_db}"
    report = purge(url, broker_url, 30, now=now)

    assert _senders(url) == {"still-going", "new"}
    assert (report.conversations, report.tracker_events, report.broker_events) == (1, 2, 1)
    with broker.connect() as connection:
        assert [r.sender_id for r in connection.execute(select(BROKER_EVENTS))] == ["new"]
    with db.get_engine(url).connect() as connection:
        assert connection.execute(select(func.count()).select_from(TRACKER_EVENTS)).scalar() == 3


def test_purge_refuses_a_period_under_one_day(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1 day"):
        purge(f"sqlite:///{tmp_path / 'tracker.db'}", None, 0)


def test_purge_of_an_empty_store_does_nothing(tmp_path: Path) -> None:
    assert purge(f"sqlite:///{tmp_path / 'tracker.db'}", None, 30).conversations == 0


def test_the_command_line_purges_with_the_configured_days(tmp_path: Path) -> None:
    now = time.time()
    _save(tmp_path / "tracker.db", "old", [now - 10 * DAY])
    _save(tmp_path / "tracker.db", "new", [now - 1 * DAY])
    env = {
        "PATH": "/usr/bin:/bin",
        "BOT_VAR_DIR": str(tmp_path),
        "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
        "RETENTION_DAYS": "7",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "retention", "purge"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "Deleted 1 conversations older than 7 days" in result.stdout
    assert _senders(f"sqlite:///{tmp_path / 'tracker.db'}") == {"new"}
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "retention", "purge", "--days", "0"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1 and "at least 1 day" in bad.stderr
