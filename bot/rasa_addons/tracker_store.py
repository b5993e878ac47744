"""SQL tracker store that fails loudly and can forget a conversation.

Rasa's own loader replaces a tracker store that cannot connect, or cannot be imported, by
an in-memory one with only a warning, and the data of every conversation is then lost when
the server stops. This store raises `TrackerStoreUnavailableError` instead, a `SystemExit`
that Rasa's `except Exception` fallbacks do not swallow, so `rasa run` stops with a clear
message.

It also implements "delete my conversation": when the action `action_delete_conversation`
appears among a tracker's new events, every stored event of that sender is deleted and only
the events after that action (the confirmation) are written.

Bounded window: Rasa rebuilds the whole tracker from every stored event on each message, and
its policies featurize the whole history, so each reply gets slower as a conversation grows.
The policies only look a few turns back (max_history), so this store hands the server the last
`window` events of the current session, starting at a turn boundary, preceded by a snapshot of
the slots and the active form as they stood before the window. The database keeps every event;
clinician tools read it there. `window: 0` in endpoints.yml turns the window off.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from bot.rasa_addons.serving import configure_serving
from bot.settings import get_settings

logger = logging.getLogger(__name__)

DELETE_ACTION_NAME = "action_delete_conversation"
DEFAULT_WINDOW = 60
# Events before the window that still shape the state (slots, the active form), and the events
# after which nothing earlier counts.
_STATE_TYPES = ("slot", "active_loop", "reset_slots")
_RESET_TYPES = ("reset_slots", "restart", "session_started")
# Set on each tracker this store hands out: how many of its events are already stored.
_STORED_ATTR = "_stored_event_count_in_window"
# Recently used windows are kept in memory, checked against the newest stored event id on every
# read, so another server process writing the same conversation is always noticed.
CACHE_SIZE = 4096
CACHE_SLACK = 40


@lru_cache(maxsize=1)
def _event_classes() -> dict[str, type[Event]]:
    """Event classes by type name (Rasa walks every subclass for each event it reads)."""
    from rasa.shared.utils.common import all_subclasses

    return {cls.type_name: cls for cls in all_subclasses(Event)}


def _deserialise(data: dict[str, Any]) -> Event | None:
    cls = _event_classes().get(str(data.get("event")))
    return cls._from_parameters(data) if cls is not None else Event.from_parameters(data)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    connection.execute("PRAGMA synchronous=NORMAL")


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
        window: int = DEFAULT_WINDOW,
        **kwargs: Any,
    ) -> None:
        """Connect to the database named by `url` or the `TRACKER_STORE_URL` setting.

        Args:
            domain: The assistant's domain.
            host: Ignored; Rasa passes the endpoint's `url` here.
            event_broker: Broker that receives every new event.
            url: SQLAlchemy URL; defaults to the `TRACKER_STORE_URL` setting.
            window: Events of the current session handed to the server (0: all of them).
            **kwargs: Further options from `endpoints.yml`, passed to `SQLTrackerStore`.

        Raises:
            TrackerStoreUnavailableError: The database cannot be reached or used.
        """
        db_url = url or host or get_settings().tracker_store_url
        # The one hook every Rasa server process of this project runs at start-up.
        configure_serving()
        self.window = int(window)
        self._cache: OrderedDict[str, tuple[int, list[Event]]] = OrderedDict()
        self._cache_lock = threading.Lock()
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
            if not parsed.drivername.startswith("sqlite"):
                # A database server that restarted leaves dead connections in the pool: test each
                # one before use, so the first message after a restart reconnects instead of failing.
                first: sa.engine.Engine = self.engine  # type: ignore[has-type]
                first.dispose()
                self.engine = sa.create_engine(first.url, pool_pre_ping=True, **create_engine_kwargs(str(first.url)))
                self.sessionmaker = sessionmaker(bind=self.engine)
            if parsed.drivername.startswith("sqlite"):
                # Write-ahead logging lets readers and the writer work at once (and is persistent);
                # with it, synchronous=NORMAL is safe against application crashes and skips an
                # fsync per message (an OS crash or power loss may lose the last few messages).
                sa.event.listen(self.engine, "connect", _sqlite_pragmas)
                with self.engine.connect() as connection:
                    connection.exec_driver_sql("PRAGMA journal_mode=WAL")
            # SQLTrackerStore only logs a failed table creation; check the store really works.
            with self.engine.connect() as connection:
                connection.execute(sa.select(sa.func.count()).select_from(self.SQLEvent.__table__))
        except Exception as exc:
            raise TrackerStoreUnavailableError(
                f"Tracker store at {_redacted(db_url)} cannot be used ({exc.__class__.__name__}: "
                f"{exc}). Refusing to start: without it every conversation would be lost."
            ) from exc

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The current session of a conversation, bounded to the window.

        Args:
            sender_id: The conversation.

        Returns:
            The tracker, or None for an unknown conversation.
        """
        return self._windowed(sender_id)

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        """What the server works on: the current session, bounded to the window.

        Earlier sessions stay in the database; the dialogue never needs them (slots carried
        over to a new session are set again inside it).

        Args:
            conversation_id: The conversation.

        Returns:
            The tracker, or None for an unknown conversation.
        """
        return self._windowed(conversation_id)

    def _windowed(self, sender_id: str) -> DialogueStateTracker | None:
        if self.domain is None:
            return None
        with self.session_scope() as session:
            newest = session.query(sa.func.max(self.SQLEvent.id)).filter(self.SQLEvent.sender_id == sender_id).scalar()
            if newest is None:
                return None
            with self._cache_lock:
                cached = self._cache.get(sender_id)
                if cached is not None and cached[0] == newest:
                    self._cache.move_to_end(sender_id)
                    return self._tracker(sender_id, cached[1])
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
            rows = query.with_entities(self.SQLEvent.id, self.SQLEvent.type_name, self.SQLEvent.action_name).all()
            if not rows:
                return None
            cut = self._window_start(rows)
            wanted = [row.id for row in rows[cut:]]
            if cut:
                reset = max((i for i in range(cut) if rows[i].type_name in _RESET_TYPES), default=0)
                wanted += [row.id for row in rows[reset:cut] if row.type_name in _STATE_TYPES]
            data = {
                row.id: json.loads(row.data)
                for row in session.query(self.SQLEvent.id, self.SQLEvent.data).filter(self.SQLEvent.id.in_(wanted))
            }
        events: list[Event] = []
        if cut:
            events = self._snapshot([data[row.id] for row in rows[:cut] if row.id in data])
        events += [event for row in rows[cut:] if (event := _deserialise(data[row.id])) is not None]
        self._remember(sender_id, rows[-1].id, events)
        return self._tracker(sender_id, events)

    def _tracker(self, sender_id: str, events: list[Event]) -> DialogueStateTracker:
        assert self.domain is not None
        tracker = DialogueStateTracker.from_events(sender_id, events, self.domain.slots)
        setattr(tracker, _STORED_ATTR, len(tracker.events))
        return tracker

    def _remember(self, sender_id: str, newest: int | None, events: list[Event]) -> None:
        with self._cache_lock:
            if newest is None or (self.window > 0 and len(events) > self.window + CACHE_SLACK):
                self._cache.pop(sender_id, None)  # the next read cuts a fresh window
                return
            self._cache[sender_id] = (newest, events)
            self._cache.move_to_end(sender_id)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def _window_start(self, rows: list[Any]) -> int:
        """Index of the first event in the window: a listen that precedes a user message."""
        if self.window <= 0 or len(rows) <= self.window:
            return 0
        for index in range(len(rows) - self.window, len(rows) - 1):
            if rows[index].action_name == "action_listen" and rows[index + 1].type_name == "user":
                return index
        return 0  # no turn boundary inside the window: hand out everything

    def _snapshot(self, state_events: list[dict[str, Any]]) -> list[Event]:
        """Events that recreate the slots and the active form as they stood before the window."""
        slots: dict[str, Any] = {}
        loop: str | None = None
        for data in state_events:
            if data.get("event") == "slot":
                slots[str(data["name"])] = data.get("value")
            elif data.get("event") == "reset_slots":
                slots.clear()
            elif data.get("event") == "active_loop":
                loop = data.get("name")
        events: list[Event] = [SlotSet(name, value) for name, value in slots.items()]
        if loop:
            events.append(ActiveLoop(loop))
        return events

    def _new_events(self, tracker: DialogueStateTracker) -> list[Event]:
        stored = getattr(tracker, _STORED_ATTR, None)
        if stored is None:  # a tracker this store did not hand out: compare with the database
            stored = self._stored_event_count(tracker.sender_id)
        return list(tracker.events)[stored:]

    def _write(self, tracker: DialogueStateTracker, events: list[Event], *, cache: bool = True) -> None:
        handed_out = getattr(tracker, _STORED_ATTR, None) is not None
        newest: int | None = None
        table = self.SQLEvent.__table__
        rows = []
        for event in events:
            data = event.as_dict()
            rows.append(
                {
                    "sender_id": tracker.sender_id,
                    "type_name": event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": data.get("parse_data", {}).get("intent", {}).get("name"),
                    "action_name": data.get("name"),
                    "data": json.dumps(data),
                }
            )
        with self.session_scope() as session:
            if rows:
                # One executemany through Core instead of an ORM flush per row; the newest id of
                # this sender is ours, as the lock store serialises a sender's turns.
                session.execute(table.insert(), rows)
                newest = session.execute(
                    sa.select(sa.func.max(table.c.id)).where(table.c.sender_id == tracker.sender_id)
                ).scalar()
            session.commit()
        setattr(tracker, _STORED_ATTR, len(tracker.events))
        if cache and handed_out and newest is not None:
            self._remember(tracker.sender_id, newest, list(tracker.events))
        else:
            self._remember(tracker.sender_id, None, [])

    async def _stream(self, tracker: DialogueStateTracker, events: list[Event]) -> None:
        if self.event_broker is None or not events:
            return
        publish_many = getattr(self.event_broker, "publish_many", None)
        if publish_many is None:
            await self._stream_new_events(self.event_broker, events, tracker.sender_id)
            return
        # The same bodies as Rasa's _stream_new_events, in one write (bot.rasa_addons.event_broker).
        publish_many([{"sender_id": tracker.sender_id, **event.as_dict()} for event in events])

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the tracker's new events, or forget the sender if deletion was asked for.

        Args:
            tracker: The tracker to store.
        """
        new_events = self._new_events(tracker)
        marker = next(
            (
                index
                for index in range(len(new_events) - 1, -1, -1)
                if isinstance(new_events[index], ActionExecuted) and new_events[index].action_name == DELETE_ACTION_NAME
            ),
            None,
        )
        if marker is None:
            await self._stream(tracker, new_events)
            self._write(tracker, new_events)
            return
        self.delete_sender(tracker.sender_id)
        # The deletion action itself goes to the broker (it holds no text), so that the review
        # store deletes the conversation too; the events before it never leave.
        await self._stream(tracker, new_events[marker:])
        self._write(tracker, new_events[marker + 1 :], cache=False)

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
        self._remember(sender_id, None, [])
        logger.info("Deleted %d stored events of one conversation on request.", deleted)
        return int(deleted)
