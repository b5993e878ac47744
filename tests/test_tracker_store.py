from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, Event, SessionStarted, SlotSet, UserUttered
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


def _turn(n: int) -> list[Event]:
    return [
        UserUttered(f"message {n}", {"name": "faq", "confidence": 1.0}),
        ActionExecuted("utter_faq"),
        BotUttered(f"answer {n}"),
        ActionExecuted("action_listen"),
    ]


def _stored(store: GuardedSQLTrackerStore, sender: str) -> int:
    return store._stored_event_count(sender)


def test_window_bounds_what_the_server_gets_and_keeps_state(domain: Domain, tmp_path: Path) -> None:
    store = GuardedSQLTrackerStore(domain=domain, url=f"sqlite:///{tmp_path / 't.db'}", window=20)
    events: list[Event] = [SessionStarted(), ActionExecuted("action_listen")]
    events += [SlotSet("consent_given", True), SlotSet("country", "Canada"), ActiveLoop("safety_plan_form")]
    events += [SlotSet("requested_slot", "safety_coping")]
    for n in range(30):
        events += _turn(n)
    asyncio.run(store.save(DialogueStateTracker.from_events("carol", events, slots=domain.slots)))
    assert _stored(store, "carol") == len(events)

    tracker = asyncio.run(store.retrieve_full_tracker("carol"))
    assert tracker is not None
    assert len(tracker.events) <= 20 + 4
    assert tracker.get_slot("consent_given") is True
    assert tracker.get_slot("country") == "Canada"
    assert tracker.get_slot("requested_slot") == "safety_coping"
    assert tracker.active_loop_name == "safety_plan_form"
    first_action = next(e for e in tracker.events if isinstance(e, ActionExecuted))
    assert first_action.action_name == "action_listen"  # the window starts at a turn boundary
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)][-1] == "message 29"


def test_window_saves_only_new_events(domain: Domain, tmp_path: Path) -> None:
    store = GuardedSQLTrackerStore(domain=domain, url=f"sqlite:///{tmp_path / 't.db'}", window=10)
    events: list[Event] = [ActionExecuted("action_listen")]
    for n in range(10):
        events += _turn(n)
    asyncio.run(store.save(DialogueStateTracker.from_events("dave", events, slots=domain.slots)))
    before = _stored(store, "dave")
    tracker = asyncio.run(store.retrieve("dave"))
    assert tracker is not None
    for event in _turn(10):
        tracker.update(event)
    asyncio.run(store.save(tracker))
    asyncio.run(store.save(tracker))  # saving twice adds nothing
    assert _stored(store, "dave") == before + 4
    again = asyncio.run(store.retrieve("dave"))
    assert again is not None
    assert [e.text for e in again.events if isinstance(e, UserUttered)][-1] == "message 10"


def test_window_zero_hands_out_everything(domain: Domain, tmp_path: Path) -> None:
    store = GuardedSQLTrackerStore(domain=domain, url=f"sqlite:///{tmp_path / 't.db'}", window=0)
    events: list[Event] = [ActionExecuted("action_listen")]
    for n in range(30):
        events += _turn(n)
    asyncio.run(store.save(DialogueStateTracker.from_events("erin", events, slots=domain.slots)))
    tracker = asyncio.run(store.retrieve("erin"))
    assert tracker is not None
    assert len(tracker.events) == len(events)


def test_a_second_process_writing_is_always_seen(domain: Domain, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    first, second = GuardedSQLTrackerStore(domain=domain, url=url), GuardedSQLTrackerStore(domain=domain, url=url)
    events: list[Event] = [ActionExecuted("action_listen"), *_turn(0)]
    asyncio.run(first.save(DialogueStateTracker.from_events("fay", events, slots=domain.slots)))
    assert asyncio.run(first.retrieve("fay")) is not None  # now in the first store's memory

    other = asyncio.run(second.retrieve("fay"))
    assert other is not None
    for event in _turn(1):
        other.update(event)
    asyncio.run(second.save(other))

    again = asyncio.run(first.retrieve("fay"))
    assert again is not None
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["message 0", "message 1"]


def _broker_rows(path: Path) -> list[dict[str, object]]:
    import json
    import sqlite3

    with sqlite3.connect(path) as connection:
        return [json.loads(row[0]) for row in connection.execute("SELECT data FROM events ORDER BY id")]


def test_a_turn_reaches_the_event_broker_in_one_write_and_in_order(domain: Domain, tmp_path: Path) -> None:
    from bot.rasa_addons.event_broker import LocalSQLEventBroker

    broker = LocalSQLEventBroker(dialect="sqlite", db=str(tmp_path / "events.db"))
    writes: list[int] = []
    original = broker.publish_many

    def counting(bodies: list[dict[str, Any]]) -> None:
        writes.append(len(bodies))
        original(bodies)

    broker.publish_many = counting  # type: ignore[method-assign]
    store = GuardedSQLTrackerStore(domain=domain, url=f"sqlite:///{tmp_path / 't.db'}", event_broker=broker)
    tracker = DialogueStateTracker.from_events(
        "alice",
        [
            ActionExecuted("action_listen"),
            UserUttered("hello", {"name": "greet", "confidence": 1.0}),
            BotUttered("Hi!"),
        ],
    )
    asyncio.run(store.save(tracker))
    assert writes == [3]
    rows = _broker_rows(tmp_path / "events.db")
    assert [(r["sender_id"], r["event"]) for r in rows] == [("alice", "action"), ("alice", "user"), ("alice", "bot")]


def test_a_deletion_reaches_the_broker_without_the_deleted_events(domain: Domain, tmp_path: Path) -> None:
    from bot.rasa_addons.event_broker import LocalSQLEventBroker

    broker = LocalSQLEventBroker(dialect="sqlite", db=str(tmp_path / "events.db"))
    store = GuardedSQLTrackerStore(domain=domain, url=f"sqlite:///{tmp_path / 't.db'}", event_broker=broker)
    tracker = DialogueStateTracker.from_events(
        "bob",
        [
            UserUttered("my sister Jane", {"name": "faq", "confidence": 0.9}),
            UserUttered("yes", {"name": "affirm", "confidence": 1.0}),
            ActionExecuted("action_delete_conversation"),
            BotUttered("Deleted."),
        ],
    )
    asyncio.run(store.save(tracker))
    rows = _broker_rows(tmp_path / "events.db")
    assert [r.get("name") or r["event"] for r in rows] == ["action_delete_conversation", "bot"]
    assert "Jane" not in str(rows)
