"""Ingest: conversation events from Rasa's event broker, anonymized, into the review store.

The one way conversation data reaches clinicians: channel -> Rasa -> tracker store -> event
broker -> this module -> review store. Every text is anonymized here (bot.review.anonymize), slot
values are redacted, and the sender id is replaced by a keyed hash. Nothing raw is written.

Sources:
- the SQL event broker (Rasa's `events` table, SQLite under `var/` by default): rows are read in
  id order and deleted once their events are in the review store, so raw text does not linger
  there;
- RabbitMQ (the scale-out configuration): messages are acknowledged only after they are stored.

An `action_delete_conversation` event removes the conversation from the review store, as the
tracker store removes it from there.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, delete, func, select
from sqlalchemy.orm import Session

from bot import db
from bot.review import store
from bot.review.anonymize import Pseudonyms
from bot.review.models import Conversation, Escalation, Event, IngestCheckpoint

if TYPE_CHECKING:
    from bot.review.anonymize import Anonymizer

logger = logging.getLogger(__name__)

DELETE_ACTION = "action_delete_conversation"
LEVELS = ("none", "concern", "high", "imminent")
# Flow steps, in the order the review app's diagram shows them.
FORM_STEPS = {"intake_form": "intake_started", "therapist_search_form": "finder", "consultation_form": "consultation"}
ACTION_STEPS = {
    "action_reflect": "reflection",
    "action_search_therapists": "results",
    "action_submit_referral": "referral",
}
FALLBACK_ACTIONS = frozenset({"action_default_ask_affirmation", "action_default_fallback"})
SKIPPED_ACTIONS = frozenset({"action_listen", "action_session_start"})
INTAKE_QUESTIONS = 14

# Rasa's SQL event broker table (rasa/core/brokers/sql.py): id, sender_id, data (the event as JSON).
_broker_metadata = MetaData()
BROKER_EVENTS = Table(
    "events",
    _broker_metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("data", Text),
)


def _at(event: dict[str, Any]) -> datetime:
    stamp = event.get("timestamp")
    if isinstance(stamp, int | float):
        return datetime.fromtimestamp(float(stamp), tz=timezone.utc).replace(tzinfo=None)
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass
class _Pending:
    """An escalation waiting for the assistant's reply (the bot events that follow it).

    Kept by id: the reply may arrive in a later transaction (the next broker batch, the next
    RabbitMQ message), where the row is loaded again.
    """

    escalation_id: int
    replies: list[str]

    def row(self, session: Session) -> Escalation | None:
        """The escalation in the current transaction."""
        return session.get(Escalation, self.escalation_id)


class Ingestor:
    """Turns raw conversation events into anonymized review-store rows."""

    def __init__(self, anonymizer: Anonymizer, *, key: bytes | None = None, cache_size: int = 256) -> None:
        """Prepare an ingestor.

        Args:
            anonymizer: The anonymizer for texts and slot values.
            key: The conversation-hash key (default: the configured one).
            cache_size: Conversations whose placeholders stay in memory between events.
        """
        self.anonymizer = anonymizer
        self.key = key or store.hash_key()
        self._pseudonyms: OrderedDict[str, Pseudonyms] = OrderedDict()
        self._last_user: dict[str, str] = {}
        self._pending: dict[str, _Pending] = {}
        self.cache_size = cache_size

    def ingest(self, session: Session, sender_id: str, event: dict[str, Any]) -> None:
        """Add one event of one sender to the review store (inside the caller's transaction)."""
        key = store.conversation_key(sender_id, self.key)
        kind = str(event.get("event", ""))
        if kind == "action" and event.get("name") == DELETE_ACTION:
            store.delete_conversation(session, key)
            self._forget(key)
            return
        conversation = session.query(Conversation).filter_by(key=key).one_or_none()
        if conversation is None:
            if kind != "user":
                # A conversation starts with the user's first message, not with a session start or
                # the confirmation that follows a deletion.
                return
            conversation = Conversation(key=key, started_at=_at(event), last_event_at=_at(event))
            session.add(conversation)
            session.flush()
        pseudonyms = self._pseudonyms_for(conversation)
        row = self._event_row(conversation, event, pseudonyms)
        if row is not None:
            session.add(row)
        conversation.last_event_at = max(conversation.last_event_at, _at(event))
        conversation.pseudonyms = json.dumps(pseudonyms.to_dict(), sort_keys=True)

    def ingest_all(self, session: Session, records: Iterable[tuple[str, dict[str, Any]]]) -> int:
        """Ingest many (sender id, event) pairs in order; returns how many were read."""
        count = 0
        for sender_id, event in records:
            self.ingest(session, sender_id, event)
            count += 1
        return count

    # Event kinds -------------------------------------------------------------------------------

    def _event_row(self, conversation: Conversation, event: dict[str, Any], pseudonyms: Pseudonyms) -> Event | None:
        kind = str(event.get("event", ""))
        seq = _next_seq(Session.object_session(conversation), conversation)
        at = _at(event)
        if kind == "user":
            return self._user(conversation, event, pseudonyms, seq, at)
        if kind == "bot":
            text = self.anonymizer.anonymize(str(event.get("text") or ""), pseudonyms)
            pending = self._pending.get(conversation.key)
            escalation = pending.row(Session.object_session(conversation)) if pending is not None else None
            if pending is not None and escalation is not None and text:
                pending.replies.append(text)
                escalation.reply = "\n".join(pending.replies)
            return Event(conversation=conversation, seq=seq, at=at, kind="bot", text=text)
        if kind == "action":
            name = str(event.get("name") or "")
            if name in SKIPPED_ACTIONS:
                return None
            if name in FALLBACK_ACTIONS:
                conversation.fallbacks += 1
            if name in ACTION_STEPS:
                _add_step(conversation, ACTION_STEPS[name])
            return Event(conversation=conversation, seq=seq, at=at, kind="action", name=name)
        if kind == "active_loop":
            name = str(event.get("name") or "")
            if name in FORM_STEPS:
                _add_step(conversation, FORM_STEPS[name])
                if name == "therapist_search_form":
                    conversation.requested_therapist = True
            return Event(conversation=conversation, seq=seq, at=at, kind="form", name=name)
        if kind == "slot":
            return self._slot(conversation, event, pseudonyms, seq, at)
        if kind in ("session_started", "restart"):
            return Event(conversation=conversation, seq=seq, at=at, kind="session", name=kind)
        return None

    def _user(
        self, conversation: Conversation, event: dict[str, Any], pseudonyms: Pseudonyms, seq: int, at: datetime
    ) -> Event:
        parse = event.get("parse_data") or {}
        intent = parse.get("intent") or {}
        crisis = parse.get("crisis") or {}
        text = self.anonymizer.anonymize(str(event.get("text") or ""), pseudonyms)
        conversation.user_turns += 1
        if event.get("input_channel") and not conversation.channel:
            conversation.channel = str(event["input_channel"])[:40]
        _add_step(conversation, "entry")
        self._last_user[conversation.key] = text
        self._pending.pop(conversation.key, None)
        level = str(crisis.get("level") or "")
        return Event(
            conversation=conversation,
            seq=seq,
            at=at,
            kind="user",
            text=text,
            intent=str(intent.get("name") or "")[:80],
            confidence=float(intent["confidence"]) if isinstance(intent.get("confidence"), int | float) else None,
            crisis_level=level if level in LEVELS else "",
            crisis_category=str(crisis.get("category") or "")[:30],
        )

    def _slot(
        self, conversation: Conversation, event: dict[str, Any], pseudonyms: Pseudonyms, seq: int, at: datetime
    ) -> Event:
        name = str(event.get("name") or "")
        raw = event.get("value")
        value = self.anonymizer.anonymize_slot(name, raw, pseudonyms)
        slots = json.loads(conversation.slots or "{}")
        slots[name] = value
        conversation.slots = json.dumps(slots, sort_keys=True, default=str)
        if name == "consent_given" and raw is True:
            _add_step(conversation, "consent")
        if name == "intake_answers" and isinstance(raw, dict):
            for number in range(1, min(len(raw), INTAKE_QUESTIONS) + 1):
                _add_step(conversation, f"intake_{number}")
        if name == "crisis_level" and raw in LEVELS[1:]:
            self._escalate(conversation, str(raw), slots, at)
        pending = self._pending.get(conversation.key)
        if name == "crisis_category" and pending is not None and isinstance(raw, str):
            escalation = pending.row(Session.object_session(conversation))
            if escalation is not None:
                escalation.category = raw[:30]  # the policy sets the category just after the level
        return Event(
            conversation=conversation, seq=seq, at=at, kind="slot", name=name, value=json.dumps(value, default=str)
        )

    def _escalate(self, conversation: Conversation, level: str, slots: dict[str, Any], at: datetime) -> None:
        if LEVELS.index(level) > LEVELS.index(conversation.max_crisis_level or "none"):
            conversation.max_crisis_level = level
        escalation = Escalation(
            conversation=conversation,
            at=at,
            level=level,
            category=str(slots.get("crisis_category") or "")[:30],
            message=self._last_user.get(conversation.key, ""),
            reply="",
        )
        session = Session.object_session(conversation)
        session.add(escalation)  # future-mode sessions do not cascade along backrefs
        session.flush()
        self._pending[conversation.key] = _Pending(int(escalation.id), [])

    # Placeholders that last as long as the conversation ---------------------------------------

    def _pseudonyms_for(self, conversation: Conversation) -> Pseudonyms:
        cached = self._pseudonyms.get(conversation.key)
        if cached is None:
            cached = Pseudonyms.from_dict(json.loads(conversation.pseudonyms or "{}"), hasher=self._hash)
            self._pseudonyms[conversation.key] = cached
            while len(self._pseudonyms) > self.cache_size:
                self._forget(next(iter(self._pseudonyms)))  # the oldest; its placeholders are stored
        self._pseudonyms.move_to_end(conversation.key)
        return cached

    def _hash(self, value: str) -> str:
        return store.value_hash(value, self.key)

    def _forget(self, key: str) -> None:
        self._pseudonyms.pop(key, None)
        self._last_user.pop(key, None)
        self._pending.pop(key, None)


def _next_seq(session: Session, conversation: Conversation) -> int:
    last = session.query(func.max(Event.seq)).filter(Event.conversation_id == conversation.id).scalar()
    return int(last or 0) + 1


def _add_step(conversation: Conversation, step: str) -> None:
    steps = json.loads(conversation.steps or "[]")
    if step not in steps:
        steps.append(step)
        conversation.steps = json.dumps(steps)


# Sources -----------------------------------------------------------------------------------------


def ingest_sql_broker(ingestor: Ingestor, broker_url: str, review_url: str, *, batch: int = 500) -> int:
    """Move every waiting event from the SQL event broker's table into the review store.

    Events are read in id order; a batch is deleted from the broker table only after the review
    store has committed it, so a crash repeats nothing and loses nothing.

    Returns:
        How many events were ingested.
    """
    engine = db.get_engine(broker_url)
    _broker_metadata.create_all(engine)  # Rasa creates it on its first event; ingest may start first
    total = 0
    while True:
        with engine.connect() as connection:
            rows = connection.execute(select(BROKER_EVENTS).order_by(BROKER_EVENTS.c.id).limit(batch)).fetchall()
        if not rows:
            return total
        records = []
        for row in rows:
            try:
                records.append((str(row.sender_id), json.loads(row.data)))
            except (TypeError, ValueError):
                logger.warning("Skipped a broker row that is not an event (id %s).", row.id)
        with store.session_scope(review_url) as session:
            ingestor.ingest_all(session, records)
            _checkpoint(session, broker_url, int(rows[-1].id))
        with engine.begin() as connection:
            connection.execute(delete(BROKER_EVENTS).where(BROKER_EVENTS.c.id <= rows[-1].id))
        total += len(rows)


def _checkpoint(session: Session, source: str, last_id: int) -> None:
    checkpoint = session.get(IngestCheckpoint, source[:200])
    if checkpoint is None:
        session.add(IngestCheckpoint(source=source[:200], last_id=last_id))
    else:
        checkpoint.last_id = last_id


async def follow_sql_broker(
    ingestor: Ingestor, broker_url: str, review_url: str, *, interval: float = 1.0, stop: Any = None
) -> None:
    """Ingest from the SQL broker every `interval` seconds until `stop` (an asyncio.Event) is set."""
    import asyncio

    while stop is None or not stop.is_set():
        try:
            count = await asyncio.to_thread(ingest_sql_broker, ingestor, broker_url, review_url)
            if count:
                logger.info("Ingested %d conversation events.", count)
        except Exception:  # noqa: BLE001 (the next round tries again; the events wait in the broker)
            logger.exception("Ingest failed; the events stay in the broker and are retried.")
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval) if stop is not None else await asyncio.sleep(interval)
        except asyncio.TimeoutError:
            pass


async def consume_rabbitmq(
    ingestor: Ingestor, amqp_url: str, queue_name: str, review_url: str, *, stop: Any = None, prefetch: int = 100
) -> int:
    """Ingest events from a RabbitMQ queue (Rasa's pika broker) until `stop` is set.

    A message is acknowledged only after its event is committed to the review store; one that is
    not an event is rejected without requeueing (and logged), so it cannot block the queue.

    Returns:
        How many events were ingested.
    """
    import asyncio

    import aio_pika

    connection = await aio_pika.connect_robust(amqp_url)
    count = 0
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        queue = await channel.declare_queue(queue_name, durable=True)
        # Deliveries go to a local queue that can be waited on with a timeout; cancelling a wait on
        # aio_pika's own queue iterator closes the iterator (and a second wait raises KeyError).
        inbox: asyncio.Queue[Any] = asyncio.Queue()
        tag = await queue.consume(inbox.put)
        try:
            while stop is None or not stop.is_set():
                try:
                    message = await asyncio.wait_for(inbox.get(), timeout=0.5)
                except asyncio.TimeoutError:
                    continue
                try:
                    event = json.loads(message.body)
                    sender_id = str(event["sender_id"])
                except (ValueError, KeyError, TypeError):
                    logger.warning("Rejected a RabbitMQ message that is not a Rasa event.")
                    await message.reject(requeue=False)
                    continue
                await asyncio.to_thread(_store_one, ingestor, review_url, sender_id, event)
                await message.ack()
                count += 1
        finally:
            await queue.cancel(tag)  # unacknowledged deliveries go back to the queue
    return count


def _store_one(ingestor: Ingestor, review_url: str, sender_id: str, event: dict[str, Any]) -> None:
    with store.session_scope(review_url) as session:
        ingestor.ingest(session, sender_id, event)
