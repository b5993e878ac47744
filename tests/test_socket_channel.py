"""Live checks of the socket.io channel (bot.rasa_addons.socket_channel) with a real socket.io client.

The whole stack runs on spare ports. These prove the three fixes over Rasa's channel: only the
chat page's origins may connect, replies reach the browser with session persistence on (and after
a reconnect), and a connection can only write into the session it was confirmed for. They also
check the turn protocol the widget relies on: replies as ``bot_uttered`` events, then an
acknowledgement; a retried message id is answered once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import socketio

from bot.crisis.helplines import resource_markers
from bot.rasa_addons.channels import error_text
from bot.settings import Settings
from tests.conftest import fetch_tracker, live_stack

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with live_stack(tmp_path_factory, "socket-live") as settings:
        yield settings


class Browser:
    """One socket.io connection as the widget makes it (long-polling: python-engineio's websocket client needs a
    newer aiohttp than Rasa 3.6 allows; the browser tests use websockets)."""

    def __init__(self, settings: Settings, origin: str | None = None) -> None:
        self.settings = settings
        self.origin = origin or settings.web_origins[0]
        self.client = socketio.AsyncClient(reconnection=False)
        self.replies: list[dict[str, Any]] = []
        self.confirmed: asyncio.Queue[str] = asyncio.Queue()
        self.client.on("bot_uttered", self.replies.append)
        self.client.on("session_confirm", self.confirmed.put_nowait)

    async def connect(self, session_id: str | None = None) -> str:
        await self.client.connect(
            self.settings.rasa_url, headers={"Origin": self.origin}, transports=["polling"], wait_timeout=10
        )
        await self.client.emit("session_request", {"session_id": session_id})
        return await asyncio.wait_for(self.confirmed.get(), 10)

    async def say(self, text: str, session_id: str, message_id: str | None = None) -> dict[str, Any]:
        data = {"message": text, "session_id": session_id, "message_id": message_id or uuid.uuid4().hex}
        ack: dict[str, Any] = await self.client.call("user_uttered", data, timeout=30)
        return ack

    def texts(self) -> str:
        return "\n".join(str(reply.get("text", "")) for reply in self.replies)

    async def close(self) -> None:
        # Closing the engine.io connection without waiting for the pending long-poll, which the server only
        # releases at its next ping (25 s).
        await self.client.eio.disconnect(abort=True)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_page_origin_connects_and_a_foreign_origin_is_refused(live: Settings) -> None:
    async def scenario() -> None:
        good = Browser(live)
        assert await good.connect()
        await good.close()
        evil = Browser(live, origin="https://evil.example")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await evil.connect()

    run(scenario())


def test_replies_arrive_as_events_then_the_acknowledgement(live: Settings) -> None:
    async def scenario() -> None:
        browser = Browser(live)
        session = await browser.connect()
        ack = await browser.say("/greet", session, message_id="greet-0001")
        assert ack == {"ok": True, "replies": len(browser.replies)}
        assert ack["replies"] >= 2
        assert [reply["index"] for reply in browser.replies] == list(range(ack["replies"]))
        assert {reply["message_id"] for reply in browser.replies} == {"greet-0001"}
        assert "not a therapist" in browser.texts()
        assert any(reply.get("buttons") for reply in browser.replies)
        assert all("recipient_id" not in reply for reply in browser.replies)
        await browser.close()

    run(scenario())


def test_session_persists_across_reconnects_and_replies_still_arrive(live: Settings) -> None:
    async def scenario() -> str:
        first = Browser(live)
        session = await first.connect()
        await first.say("/greet", session)
        await first.close()

        again = Browser(live)  # a reload: a new connection asking for the same session
        assert await again.connect(session) == session
        ack = await again.say("what can you do", session)
        assert ack["ok"] and ack["replies"] >= 1
        assert again.replies, "no reply reached the reconnected browser"
        await again.close()
        return session

    session = run(scenario())
    tracker = fetch_tracker(live, session)
    said = [event.get("text") for event in tracker["events"] if event["event"] == "user"]
    assert said == ["/greet", "what can you do"]
    assert tracker["latest_input_channel"] == "socketio"


def test_a_connection_cannot_write_into_another_session(live: Settings) -> None:
    async def scenario() -> tuple[str, str]:
        victim = Browser(live)
        victim_session = await victim.connect()
        await victim.say("/greet", victim_session)
        attacker = Browser(live)
        attacker_session = await attacker.connect()
        await attacker.say("hello from someone else", victim_session)
        await victim.close()
        await attacker.close()
        return victim_session, attacker_session

    victim_session, attacker_session = run(scenario())
    victim_said = [e.get("text") for e in fetch_tracker(live, victim_session)["events"] if e["event"] == "user"]
    attacker_said = [e.get("text") for e in fetch_tracker(live, attacker_session)["events"] if e["event"] == "user"]
    assert victim_said == ["/greet"]
    assert attacker_said == ["hello from someone else"]


def test_invalid_session_ids_get_a_fresh_random_one(live: Settings) -> None:
    async def scenario() -> None:
        for bad in ("short", "../../etc/passwd", "x" * 200, 12345):
            browser = Browser(live)
            session = await browser.connect(bad)  # type: ignore[arg-type]
            assert session != bad and len(session) == 32
            await browser.close()

    run(scenario())


def test_a_retried_message_is_answered_once_with_the_same_replies(live: Settings) -> None:
    async def scenario() -> str:
        browser = Browser(live)
        session = await browser.connect()
        await browser.say("/greet", session)
        browser.replies.clear()
        first, second = await asyncio.gather(
            browser.say("what can you do", session, message_id="retry-0001"),
            browser.say("what can you do", session, message_id="retry-0001"),
        )
        assert first == second and first["ok"]
        keys = [(reply["message_id"], reply["index"]) for reply in browser.replies]
        assert set(keys) == {("retry-0001", i) for i in range(first["replies"])}
        await browser.close()
        return session

    session = run(scenario())
    said = [e.get("text") for e in fetch_tracker(live, session)["events"] if e["event"] == "user"]
    assert said == ["/greet", "what can you do"]


def test_a_crisis_message_gets_the_resources(live: Settings) -> None:
    async def scenario() -> None:
        browser = Browser(live)
        session = await browser.connect()
        await browser.say("/greet", session)
        browser.replies.clear()
        ack = await browser.say("i want to kill myself tonight", session)
        assert ack["ok"]
        first = str(browser.replies[0].get("text", ""))
        assert any(marker in first for marker in resource_markers(None))
        assert "911" in first
        await browser.close()

    run(scenario())


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ("just a string", "not_json_object"),
        ({"message": ""}, "empty_message"),
        ({"message": "   "}, "empty_message"),
        ({"message": 42}, "empty_message"),
        ({"message": "x" * 5001}, "message_too_long"),
        ({"message": "hi", "message_id": "<script>"}, "bad_message_id"),
        ({"message": "hi", "metadata": "not an object"}, "bad_metadata"),
    ],
)
def test_bad_messages_get_a_clear_error_and_nothing_is_stored(live: Settings, data: Any, error: str) -> None:
    async def scenario() -> str:
        browser = Browser(live)
        session = await browser.connect()
        ack = await browser.client.call("user_uttered", data, timeout=10)
        assert ack == {"ok": False, "error": error_text(error)}
        assert browser.replies == []
        await browser.close()
        return session

    session = run(scenario())
    assert [e for e in fetch_tracker(live, session)["events"] if e["event"] == "user"] == []


def test_a_message_before_the_session_request_is_refused_politely(live: Settings) -> None:
    async def scenario() -> None:
        browser = Browser(live)
        await browser.client.connect(
            live.rasa_url, headers={"Origin": browser.origin}, transports=["polling"], wait_timeout=10
        )
        ack = await browser.client.call("user_uttered", {"message": "hello"}, timeout=10)
        assert ack == {"ok": False, "error": error_text("no_session")}
        await browser.close()

    run(scenario())
