"""SQL tracker store that fails loudly and can forget a conversation.

Rasa's own loader replaces a tracker store that cannot connect, or cannot be imported, by
an in-memory one with only a warning, and the data of every conversation is then lost when
the server stops. This store raises `TrackerStoreUnavailableError` instead, a `SystemExit`
that Rasa's `except Exception` fallbacks do not swallow, so `rasa run` stops with a clear
message.

It also implements "delete my conversation": when the action `action_delete_conversation`
appears among a tracker's new events, every stored event of that sender is deleted and only
the events after that action (the confirmation) are written.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from bot.settings import get_settings

logger = logging.getLogger(__name__)

DELETE_ACTION_NAME = "action_delete_conversation"


class TrackerStoreUnavailableError(SystemExit):
    """The tracker store cannot be reached; the server must not start without it."""


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


class GuardedSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` configured by `TRACKER_STORE_URL`, failing loudly when unreachable."""

    def __init__(
        self,
        domain: Domain | None = None,
        host: str | None = None,
        event_broker: EventBroker | None = None,
        url: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Connect to the database named by `url` or the `TRACKER_STORE_URL` setting.

        Args:
            domain: The assistant's domain.
            host: Ignored; Rasa passes the endpoint's `url` here.
            event_broker: Broker that receives every new event.
            url: SQLAlchemy URL; defaults to the `TRACKER_STORE_URL` setting.
            **kwargs: Further options from `endpoints.yml`, passed to `SQLTrackerStore`.

        Raises:
            TrackerStoreUnavailableError: The database cannot be reached or used.
        """
        db_url = url or host or get_settings().tracker_store_url
        parsed = make_url(db_url)
        try:
            if parsed.drivername.startswith("sqlite") and parsed.database:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            super().__init__(
                domain=domain,
                dialect=parsed.drivername,
                host=parsed.host,
                port=parsed.port,
                db=parsed.database or "",
                username=parsed.username,
                password=parsed.password,
                event_broker=event_broker,
                query=dict(parsed.query) or None,
                **kwargs,
            )
            # SQLTrackerStore only logs a failed table creation; check the store really works.
            with self.engine.connect() as connection:
                connection.execute(sa.select(sa.func.count()).select_from(self.SQLEvent.__table__))
        except Exception as exc:
            raise TrackerStoreUnavailableError(
                f"Tracker store at {_redacted(db_url)} cannot be used ({exc.__class__.__name__}: "
                f"{exc}). Refusing to start: without it every conversation would be lost."
            ) from exc

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the tracker's new events, or forget the sender if deletion was asked for.

        Args:
            tracker: The tracker to store.
        """
        stored = self._stored_event_count(tracker.sender_id)
        new_events = list(tracker.events)[stored:]
        marker = next(
            (
                index
                for index in range(len(new_events) - 1, -1, -1)
                if isinstance(new_events[index], ActionExecuted) and new_events[index].action_name == DELETE_ACTION_NAME
            ),
            None,
        )
        if marker is None:
            await super().save(tracker)
            return
        self.delete_sender(tracker.sender_id)
        kept = DialogueStateTracker.from_events(tracker.sender_id, new_events[marker + 1 :], slots=self.domain.slots)
        await super().save(kept)

    def _stored_event_count(self, sender_id: str) -> int:
        with self.session_scope() as session:
            return int(self._event_query(session, sender_id, fetch_events_from_all_sessions=False).count())

    def delete_sender(self, sender_id: str) -> int:
        """Delete every stored event of one sender, from all sessions.

        Args:
            sender_id: The conversation to delete.

        Returns:
            The number of events deleted.
        """
        with self.session_scope() as session:
            deleted = (
                session.query(self.SQLEvent)
                .filter(self.SQLEvent.sender_id == sender_id)
                .delete(synchronize_session=False)
            )
            session.commit()
        logger.info("Deleted %d stored events of one conversation on request.", deleted)
        return int(deleted)
