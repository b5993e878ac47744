from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_addons.tracker_store import GuardedSQLTrackerStore, TrackerStoreUnavailableError
from bot.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


def test_unreachable_database_fails_loudly(domain: Domain) -> None:
    with pytest.raises(TrackerStoreUnavailableError, match="Refusing to start") as caught:
        GuardedSQLTrackerStore(domain=domain, url="postgresql://nobody:secret@127.0.0.1:1/nothing")
    assert isinstance(caught.value, SystemExit)
    assert "secret" not in str(caught.value)


def test_unwritable_sqlite_path_fails_loudly(domain: Domain) -> None:
    with pytest.raises(TrackerStoreUnavailableError):
        GuardedSQLTrackerStore(domain=domain, url="sqlite:////proc/no-such-dir/tracker.db")


def test_creates_sqlite_folder_and_round_trips(domain: Domain, tmp_path: Path) -> None:
    store = GuardedSQLTrackerStore(domain=domain, url=f"sqlite:///{tmp_path / 'sub' / 't.db'}")
    tracker = DialogueStateTracker.from_events(
        "alice", [ActionExecuted("action_listen"), UserUttered("hello", {"name": "greet", "confidence": 1.0})]
    )
    asyncio.run(store.save(tracker))
    loaded = asyncio.run(store.retrieve("alice"))
    assert loaded is not None
    assert [e.text for e in loaded.events if isinstance(e, UserUttered)] == ["hello"]


def test_delete_action_forgets_the_sender_only(domain: Domain, tmp_path: Path) -> None:
    store = GuardedSQLTrackerStore(domain=domain, url=f"sqlite:///{tmp_path / 't.db'}")
    secret = UserUttered("my sister Jane hurt me", {"name": "faq", "confidence": 0.9})
    alice = DialogueStateTracker.from_events("alice", [ActionExecuted("action_listen"), secret])
    bob = DialogueStateTracker.from_events("bob", [ActionExecuted("action_listen"), UserUttered("hi")])
    asyncio.run(store.save(alice))
    asyncio.run(store.save(bob))

    alice = asyncio.run(store.retrieve("alice"))
    assert alice is not None
    for event in [
        UserUttered("delete my conversation", {"name": "delete_conversation", "confidence": 1.0}),
        ActionExecuted("utter_confirm_delete"),
        UserUttered("yes", {"name": "affirm", "confidence": 1.0}),
        ActionExecuted("action_delete_conversation"),
        BotUttered("Done. I've deleted this conversation."),
        ActionExecuted("action_listen"),
    ]:
        alice.update(event)
    asyncio.run(store.save(alice))

    with store.session_scope() as session:
        rows = session.query(store.SQLEvent).filter(store.SQLEvent.sender_id == "alice").all()
        stored = " ".join(row.data for row in rows)
    assert "Jane" not in stored and "delete my conversation" not in stored
    assert [row.type_name for row in rows] == ["bot", "action"]
    remaining = asyncio.run(store.retrieve("bob"))
    assert remaining is not None and any(isinstance(e, UserUttered) for e in remaining.events)


def test_ordinary_save_appends_only_new_events(domain: Domain, tmp_path: Path) -> None:
    store = GuardedSQLTrackerStore(domain=domain, url=f"sqlite:///{tmp_path / 't.db'}")
    tracker = DialogueStateTracker.from_events("carol", [ActionExecuted("action_listen"), UserUttered("hi")])
    asyncio.run(store.save(tracker))
    tracker.update(ActionExecuted("utter_greet_back"))
    asyncio.run(store.save(tracker))
    with store.session_scope() as session:
        count = session.query(store.SQLEvent).filter(store.SQLEvent.sender_id == "carol").count()
    assert count == 3
