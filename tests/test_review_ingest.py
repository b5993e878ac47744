"""Ingest: Rasa events through the SQL broker or RabbitMQ, anonymized, into the review store."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, inspect, select

from bot import db
from bot.review import store
from bot.review.anonymize import get_anonymizer
from bot.review.ingest import BROKER_EVENTS, Ingestor, consume_rabbitmq, ingest_sql_broker
from bot.review.models import Conversation, Escalation, Event

KEY = b"test-review-key"
SENDER = "+15550100123"  # a phone number, as Twilio senders are
SECRETS = ["Maya", "Daniel Okafor", "maya.k@example.com", "614-555-0143", "43215", "Columbus", SENDER]


def rasa_events() -> list[dict[str, Any]]:
    """One conversation as Rasa's broker publishes it (event dicts with the sender id)."""
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered

    def user(text: str, intent: str, confidence: float, crisis: dict[str, str] | None = None) -> UserUttered:
        parse = {"intent": {"name": intent, "confidence": confidence}, "entities": [], "text": text}
        if crisis:
            parse["crisis"] = crisis
        return UserUttered(text, parse["intent"], [], parse_data=parse, input_channel="twilio")

    events = [
        ActionExecuted("action_session_start"),
        ActionExecuted("action_listen"),
        user("hi, my sister Maya told me to try this", "greet", 0.97),
        BotUttered("Hello! Before we start: I am not a therapist."),
        user("yes", "affirm", 0.99),
        SlotSet("consent_given", True),
        ActionExecuted("action_check_intake"),
        ActiveLoop("intake_form"),
        SlotSet("intake_current", "my dad Daniel Okafor was never home"),
        SlotSet("intake_answers", {"caregiver_comfort": "my dad Daniel Okafor was never home", "late_reply": 4}),
        user("i want to kill myself", "crisis", 1.0, {"level": "high", "category": "suicide"}),
        ActiveLoop(None),
        SlotSet("crisis_level", "high"),
        SlotSet("crisis_category", "suicide"),
        ActionExecuted("utter_crisis_high"),
        BotUttered("I'm really glad you told me. Call or text 988 now. Are you safe right now?"),
        user("asdkjh", "nlu_fallback", 0.3),
        ActionExecuted("action_default_ask_affirmation"),
        ActiveLoop("therapist_search_form"),
        SlotSet("search_zip", "43215"),
        SlotSet("search_city", "Columbus"),
        ActiveLoop("consultation_form"),
        SlotSet("referral_contact", "maya.k@example.com or 614-555-0143"),
        ActionExecuted("action_submit_referral"),
    ]
    return [{"sender_id": SENDER, **event.as_dict()} for event in events]


def all_text(url: str) -> str:
    """Every value of every review-store table, as one string."""
    engine = db.get_engine(url)
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return "\n".join(
            str(value) for table in metadata.sorted_tables for row in connection.execute(select(table)) for value in row
        )


@pytest.fixture()
def review_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'review.db'}"
    store.migrate(url)
    return url


def ingest(url: str, events: list[dict[str, Any]]) -> None:
    ingestor = Ingestor(get_anonymizer(), key=KEY)
    with store.session_scope(url) as session:
        ingestor.ingest_all(session, [(e["sender_id"], e) for e in events])


def test_the_review_store_holds_no_personal_data(review_url: str) -> None:
    ingest(review_url, rasa_events())
    dumped = all_text(review_url)
    assert "<PERSON_1>" in dumped and "<PERSON_2>" in dumped
    for secret in SECRETS:
        assert secret not in dumped


def test_conversation_facts_and_flow_steps(review_url: str) -> None:
    ingest(review_url, rasa_events())
    with store.session_scope(review_url) as session:
        conversation = session.query(Conversation).one()
        assert conversation.key == store.conversation_key(SENDER, KEY)
        assert conversation.channel == "twilio"
        assert conversation.user_turns == 4
        assert conversation.max_crisis_level == "high"
        assert conversation.fallbacks == 1
        assert conversation.requested_therapist is True
        assert conversation.reached_reflection is False
        assert json.loads(conversation.steps) == [
            "entry",
            "consent",
            "intake_started",
            "intake_1",
            "intake_2",
            "finder",
            "consultation",
            "referral",
        ]
        slots = json.loads(conversation.slots)
        assert slots["search_zip"] == "<ZIP_1>"
        assert slots["referral_contact"] == "<CONTACT_1>"
        assert slots["intake_answers"]["caregiver_comfort"] == "my dad <PERSON_2> was never home"
        kinds = [e.kind for e in session.query(Event).order_by(Event.seq)]
        assert kinds[:3] == ["user", "bot", "user"]
        assert "action_listen" not in {e.name for e in session.query(Event)}


def test_user_turns_keep_intent_confidence_and_crisis_level(review_url: str) -> None:
    ingest(review_url, rasa_events())
    with store.session_scope(review_url) as session:
        turns = session.query(Event).filter_by(kind="user").order_by(Event.seq).all()
        assert [(t.intent, t.confidence) for t in turns][:2] == [("greet", 0.97), ("affirm", 0.99)]
        assert (turns[2].crisis_level, turns[2].crisis_category) == ("high", "suicide")
        assert turns[0].text == "hi, my sister <PERSON_1> told me to try this"


def test_every_escalation_is_queued_with_the_reply_given(review_url: str) -> None:
    ingest(review_url, rasa_events())
    with store.session_scope(review_url) as session:
        escalation = session.query(Escalation).one()
        assert (escalation.level, escalation.category) == ("high", "suicide")
        assert escalation.message == "i want to kill myself"
        assert "988" in escalation.reply
        assert escalation.reviewed_at is None


def test_the_reply_is_attached_when_it_arrives_in_a_later_transaction(review_url: str) -> None:
    ingestor = Ingestor(get_anonymizer(), key=KEY)
    for event in rasa_events():  # one transaction per event, as RabbitMQ delivers them
        with store.session_scope(review_url) as session:
            ingestor.ingest(session, event["sender_id"], event)
    with store.session_scope(review_url) as session:
        escalation = session.query(Escalation).one()
        assert (escalation.category, "988" in escalation.reply) == ("suicide", True)


def test_placeholders_stay_the_same_across_ingest_runs(review_url: str) -> None:
    events = rasa_events()
    ingest(review_url, events[:4])
    later = {**events[2], "text": "Maya again", "parse_data": {"intent": {"name": "inform", "confidence": 0.5}}}
    ingest(review_url, [later])  # a new Ingestor: only the stored hashes connect the two
    with store.session_scope(review_url) as session:
        texts = [e.text for e in session.query(Event).filter_by(kind="user").order_by(Event.seq)]
    assert texts == ["hi, my sister <PERSON_1> told me to try this", "<PERSON_1> again"]


def test_deleting_the_conversation_removes_it_from_the_review_store(review_url: str) -> None:
    from rasa.shared.core.events import ActionExecuted

    ingest(review_url, rasa_events())
    deleted = {"sender_id": SENDER, **ActionExecuted("action_delete_conversation").as_dict()}
    ingest(review_url, [deleted])
    with store.session_scope(review_url) as session:
        assert session.query(Conversation).count() == 0
        assert session.query(Event).count() == 0
        assert session.query(Escalation).count() == 0


def test_ingest_from_rasas_sql_broker_then_empties_its_table(tmp_path: Path, review_url: str) -> None:
    from bot.rasa_addons.event_broker import LocalSQLEventBroker

    broker_db = tmp_path / "events.db"
    broker = LocalSQLEventBroker(dialect="sqlite", db=str(broker_db))
    for event in rasa_events():
        broker.publish(event)
    broker_url = f"sqlite:///{broker_db}"
    count = ingest_sql_broker(Ingestor(get_anonymizer(), key=KEY), broker_url, review_url, batch=7)
    assert count == len(rasa_events())
    with db.get_engine(broker_url).connect() as connection:
        assert connection.execute(select(BROKER_EVENTS)).fetchall() == []
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    assert mode == "wal"
    with store.session_scope(review_url) as session:
        assert session.query(Conversation).count() == 1
        assert session.query(Event).filter_by(kind="user").count() == 4
    assert ingest_sql_broker(Ingestor(get_anonymizer(), key=KEY), broker_url, review_url) == 0


def test_a_broken_broker_row_is_skipped_not_fatal(tmp_path: Path, review_url: str) -> None:
    broker_url = f"sqlite:///{tmp_path / 'events.db'}"
    engine = db.get_engine(broker_url)
    BROKER_EVENTS.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(BROKER_EVENTS.insert(), [{"sender_id": "x", "data": "not json"}])
        connection.execute(BROKER_EVENTS.insert(), [{"sender_id": SENDER, "data": json.dumps(rasa_events()[2])}])
    assert ingest_sql_broker(Ingestor(get_anonymizer(), key=KEY), broker_url, review_url) == 2
    with store.session_scope(review_url) as session:
        assert session.query(Event).count() == 1


def test_migrations_match_the_models(review_url: str) -> None:
    from bot.review.models import Base

    inspector = inspect(db.get_engine(review_url))
    for table in Base.metadata.sorted_tables:
        assert {c["name"] for c in inspector.get_columns(table.name)} == {c.name for c in table.columns}
    store.downgrade(review_url)
    assert not store.is_migrated(review_url)
    store.migrate(review_url)
    assert store.is_migrated(review_url)


def _rabbitmq_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


def _require_rabbitmq() -> None:
    if not _rabbitmq_reachable():
        if os.environ.get("CI"):
            pytest.fail("RabbitMQ is not running on 127.0.0.1:5672 (CI needs it)")
        pytest.skip("RabbitMQ is not running on 127.0.0.1:5672")


def test_ingest_from_rabbitmq(review_url: str) -> None:
    _require_rabbitmq()
    import aio_pika

    amqp = "amqp://guest:guest@127.0.0.1:5672/"
    queue_name = f"test-review-{uuid.uuid4().hex[:8]}"
    events = rasa_events()

    async def scenario() -> int:
        connection = await aio_pika.connect_robust(amqp)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(queue_name, durable=True)
            await channel.default_exchange.publish(aio_pika.Message(body=b"not an event"), routing_key=queue_name)
            for event in events:
                await channel.default_exchange.publish(
                    aio_pika.Message(body=json.dumps(event).encode()), routing_key=queue_name
                )
            stop = asyncio.Event()
            task = asyncio.create_task(
                consume_rabbitmq(Ingestor(get_anonymizer(), key=KEY), amqp, queue_name, review_url, stop=stop)
            )
            for _ in range(200):
                await asyncio.sleep(0.1)
                with store.session_scope(review_url) as session:
                    if session.query(Event).count() >= len(events) - 2:  # two actions are not stored
                        break
            stop.set()
            count = await asyncio.wait_for(task, timeout=10)
            left = await channel.declare_queue(queue_name, durable=True, passive=True)
            remaining = left.declaration_result.message_count
            await queue.delete(if_unused=False, if_empty=False)
            assert remaining == 0
            return count

    assert asyncio.run(scenario()) == len(events)
    dumped = all_text(review_url)
    for secret in SECRETS:
        assert secret not in dumped


def test_rabbitmq_ingest_keeps_consuming_through_quiet_spells(review_url: str) -> None:
    """Events that arrive after the consumer has waited a while (several empty polls) still arrive."""
    _require_rabbitmq()
    import aio_pika

    amqp = "amqp://guest:guest@127.0.0.1:5672/"
    queue_name = f"test-review-{uuid.uuid4().hex[:8]}"
    events = rasa_events()
    ingestor = Ingestor(get_anonymizer(), key=KEY)

    async def scenario() -> int:
        connection = await aio_pika.connect_robust(amqp)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(queue_name, durable=True)
            stop = asyncio.Event()
            task = asyncio.create_task(consume_rabbitmq(ingestor, amqp, queue_name, review_url, stop=stop))
            try:
                for half in (events[: len(events) // 2], events[len(events) // 2 :]):
                    await asyncio.sleep(2.0)  # four empty polls of the consumer
                    for event in half:
                        await channel.default_exchange.publish(
                            aio_pika.Message(body=json.dumps(event).encode()), routing_key=queue_name
                        )
                for _ in range(100):
                    await asyncio.sleep(0.1)
                    with store.session_scope(review_url) as session:
                        if session.query(Event).count() >= len(events) - 2:
                            break
            finally:
                stop.set()
                count = await asyncio.wait_for(task, timeout=10)
                await queue.delete(if_unused=False, if_empty=False)
            return count

    assert asyncio.run(scenario()) == len(events)
