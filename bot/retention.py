"""Retention: raw conversations are kept only as long as configured (`RETENTION_DAYS`).

A conversation whose newest event is older than the cut-off is deleted whole from the tracker store
(Rasa's `events` table), and any of its events still waiting in the SQL event broker's table go
with it. The review store holds only anonymized data and is not touched here; deleting a sender's
conversation on request removes it there too (bot.review.ingest).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, delete, func, inspect, select

from bot import db

_metadata = MetaData()
# Rasa's SQLTrackerStore table (rasa/core/tracker_store.py, SQLTrackerStore.SQLEvent): the columns used here.
TRACKER_EVENTS = Table(
    "events",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("timestamp", Float),
    Column("data", Text),
)


@dataclass(frozen=True)
class PurgeReport:
    """What a purge removed."""

    conversations: int
    tracker_events: int
    broker_events: int


def purge(tracker_url: str, broker_url: str | None, days: int, *, now: float | None = None) -> PurgeReport:
    """Delete every conversation whose newest event is older than `days` days.

    Args:
        tracker_url: SQLAlchemy URL of the tracker store.
        broker_url: SQLAlchemy URL of the SQL event broker's database, if there is one.
        days: The retention period (at least 1).
        now: The current time as a Unix timestamp (for tests).

    Returns:
        How many conversations and events were deleted.
    """
    if days < 1:
        raise ValueError(f"The retention period must be at least 1 day, got {days}.")
    cutoff = (now if now is not None else time.time()) - days * 86400
    engine = db.get_engine(tracker_url)
    if not inspect(engine).has_table("events"):
        return PurgeReport(0, 0, 0)
    newest = func.max(TRACKER_EVENTS.c.timestamp)
    stale = select(TRACKER_EVENTS.c.sender_id).group_by(TRACKER_EVENTS.c.sender_id).having(newest < cutoff)
    with engine.begin() as connection:
        senders = [row.sender_id for row in connection.execute(stale)]
        tracker_events = 0
        for chunk in _chunks(senders):
            result = connection.execute(delete(TRACKER_EVENTS).where(TRACKER_EVENTS.c.sender_id.in_(chunk)))
            tracker_events += int(result.rowcount or 0)
    broker_events = 0
    if broker_url and senders:
        from bot.review.ingest import BROKER_EVENTS

        broker = db.get_engine(broker_url)
        if inspect(broker).has_table("events"):
            with broker.begin() as connection:
                for chunk in _chunks(senders):
                    result = connection.execute(delete(BROKER_EVENTS).where(BROKER_EVENTS.c.sender_id.in_(chunk)))
                    broker_events += int(result.rowcount or 0)
    return PurgeReport(len(senders), tracker_events, broker_events)


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
