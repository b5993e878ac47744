"""Fuzz: over 10,000 generated bad inputs through the REST channel, socket.io and the directory search.

Inputs come from a seeded generator (the same on every run): empty and huge messages, control
characters, lone surrogates, invalid UTF-8, emoji, HTML and script, SQL fragments, Rasa payload
syntax, wrong JSON types and broken JSON. Nothing may answer 5xx, crash a process or show a stack
trace; a bad request gets a clear message, a good one a reply; the stores are intact afterwards.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import socketio

from bot import stack
from bot.rasa_addons.channels import error_text
from bot.settings import Settings
from tests.conftest import live_settings

pytestmark = pytest.mark.live

SEED = 20261202
LEAKS = ("Traceback", 'File "', "sqlalchemy", "psycopg", "Exception", "Error:", "/site-packages/")
FRAGMENTS = [
    "'; DROP TABLE events; --",
    "1 OR 1=1",
    '" OR ""="',
    "Robert'); DROP TABLE therapist;--",
    "%' UNION SELECT * FROM pg_user --",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(document.cookie)>",
    "{{7*7}}",
    "${jndi:ldap://127.0.0.1/a}",
    "../../../../etc/passwd",
    "\\x00\\x1b[31m",
    "/",
    "/greet{",
    '/rate{"rating": "99"}',
    '/rate{"rating": null}',
    "/no_such_intent",
    '/inform{"location": "\'; DROP TABLE x"}',
    "/restart",
    "[link](javascript:alert(1))",
    "😀👨‍👩‍👧‍👦🇺🇸🏳️‍🌈",
    "\u202eevil\u202c",
    "\u200b\u200b\u200b",
    "\ufeffhello",
    "ｆｕｌｌｗｉｄｔｈ",
    "Z̷̢̛a̸l̴g̵o̶",
    "i want to kill myself",  # a real crisis among the noise: it must still get the resources
]
WORDS = ["mom", "anxious", "therapist", "ohio", "aetna", "help", "yes", "no", "skip", "back", "secure", "avoid"]


def _noise(rng: random.Random, length: int) -> str:
    alphabet = [chr(c) for c in (*range(0, 32), 127, *range(0x80, 0xA0), 0x2028, 0x2029, 0xFFFD, 0x10FFFF)]
    return "".join(rng.choice(alphabet + list("abc <>&'\"{}[]\\/;")) for _ in range(length))


def fuzz_text(rng: random.Random) -> str:
    """One message text: noise, fragments and words mixed."""
    kind = rng.randrange(7)
    if kind == 0:
        return rng.choice(FRAGMENTS)
    if kind == 1:
        return _noise(rng, rng.randint(1, 60))
    if kind == 2:
        return " ".join(rng.choice(WORDS + FRAGMENTS) for _ in range(rng.randint(1, 12)))
    if kind == 3:
        return "".join(chr(rng.randint(0x20, 0x2FFF)) for _ in range(rng.randint(1, 40)))
    if kind == 4:
        return rng.choice(WORDS) + "\ud800" + rng.choice(WORDS)  # a lone surrogate
    if kind == 5:
        return rng.choice(FRAGMENTS) * rng.randint(1, 40)
    return rng.choice(WORDS) + "\x00" + rng.choice(FRAGMENTS)


def fuzz_body(rng: random.Random, sender: str) -> tuple[bytes, str]:
    """A request body and what it should get: "reply" (200 with replies) or an error key (400)."""
    kind = rng.randrange(14)
    if kind == 0:
        return b"", "not_json_object"
    if kind == 1:
        broken = [b"{", b"nul", b"[1,2", b'{"sender": "a", "message": "hi"', b"\xff\xfe\xfd"]
        return rng.choice(broken), "not_json_object"
    if kind == 2:
        body = json.dumps({"sender": sender, "message": "hi"}).encode().replace(b"hi", b"h\xffi\xc3")
        return body, "not_json_object"
    if kind == 3:
        value: Any = rng.choice([None, 5, 1.5, True, [], ["hi"], {"text": "hi"}])
        return json.dumps({"sender": sender, "message": value}).encode(), "empty_message"
    if kind == 4:
        value = rng.choice([None, 7, [], {}, "", "   ", "x" * 129])
        return json.dumps({"sender": value, "message": "hello"}).encode(), "bad_sender"
    if kind == 5:
        top = rng.choice([[], [1], "text", 12, None, True])
        return json.dumps(top).encode(), "not_json_object"
    if kind == 6:
        size = rng.choice([5001, 20_000, 100_000])
        return json.dumps({"sender": sender, "message": "a" * size}).encode(), "message_too_long"
    if kind == 7:
        value = rng.choice(["x", 3, [1, 2], True])
        return json.dumps({"sender": sender, "message": "hello", "metadata": value}).encode(), "bad_metadata"
    if kind == 8:
        nested: Any = "deep"
        for _ in range(rng.choice([50, 500])):
            nested = [nested]
        return json.dumps({"sender": sender, "message": "hello", "metadata": {"n": nested}}).encode(), "reply"
    if kind == 9:
        return json.dumps({"sender": sender, "message": " \n\t "}).encode(), "empty_message"
    # Text that passes validation and goes through NLU, the crisis detector and the dialogue.
    text = fuzz_text(rng)
    if not text.strip():
        return json.dumps({"sender": sender, "message": text}).encode(), "empty_message"
    if len(text) > 5000:
        return json.dumps({"sender": sender, "message": text}).encode(), "message_too_long"
    return json.dumps({"sender": sender, "message": text}).encode(), "reply"


def assert_no_leak(body: str) -> None:
    for leak in LEAKS:
        assert leak not in body, f"{leak!r} in a reply: {body[:300]!r}"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, list[stack.Service]]]:
    var_dir = tmp_path_factory.mktemp("live-fuzz")
    settings = live_settings(var_dir)
    with (var_dir / "stack.log").open("wb") as log, stack.running(settings, log=log) as started:
        yield settings, started


def test_rest_channel_survives_generated_bad_input(live: tuple[Settings, list[stack.Service]]) -> None:
    settings, started = live
    rng = random.Random(SEED)
    url = f"{settings.rasa_url}/webhooks/rest/webhook"
    session = requests.Session()
    outcomes: dict[str, int] = {}
    crisis_answered = 0
    for n in range(4200):
        sender = f"fuzz-{n // 10}"  # a new sender every 10 messages stays under the rate limit
        body, expected = fuzz_body(rng, sender)
        response = session.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=60)
        assert response.status_code < 500, (response.status_code, body[:200])
        assert_no_leak(response.text)
        data = response.json()
        if expected == "reply":
            assert response.status_code == 200, (response.status_code, response.text[:300], body[:200])
            assert isinstance(data, list) and data, body[:200]
            if b"kill myself" in body:
                crisis_answered += "988" in response.text
        else:
            assert response.status_code == 400, (response.status_code, body[:200])
            assert data == {"error": error_text(expected)}, body[:200]
        outcomes[expected] = outcomes.get(expected, 0) + 1
    assert outcomes["reply"] >= 600 and len(outcomes) == 6, outcomes  # every kind of answer came up
    assert crisis_answered >= 5
    assert all(s.process is not None and s.process.poll() is None for s in started), "a process died"


def test_fuzz_answers_inside_the_therapist_search_keep_the_form_going(
    live: tuple[Settings, list[stack.Service]],
) -> None:
    settings, _ = live
    rng = random.Random(SEED + 1)
    url = f"{settings.rasa_url}/webhooks/rest/webhook"
    for _ in range(20):
        sender = f"fuzz-form-{uuid.uuid4().hex[:8]}"
        for opening in ("hello", "yes", "/find_therapist"):
            assert requests.post(url, json={"sender": sender, "message": opening}, timeout=60).ok
        for _ in range(6):
            text = fuzz_text(rng) or "?"
            response = requests.post(url, json={"sender": sender, "message": text}, timeout=60)
            assert response.status_code in (200, 400), (response.status_code, text[:100])
            assert_no_leak(response.text)
            if response.status_code == 200:
                assert response.json(), text[:100]


def test_socketio_survives_generated_bad_input(live: tuple[Settings, list[stack.Service]]) -> None:
    settings, started = live
    rng = random.Random(SEED + 2)

    async def scenario() -> int:
        client = socketio.AsyncClient(reconnection=False)
        confirmed: asyncio.Queue[str] = asyncio.Queue()
        client.on("session_confirm", confirmed.put_nowait)
        await client.connect(
            settings.rasa_url, headers={"Origin": settings.web_origins[0]}, transports=["polling"], wait_timeout=10
        )
        await client.emit("session_request", {"session_id": None})
        session_id = await asyncio.wait_for(confirmed.get(), 10)
        answered = 0
        for n in range(400):
            kind = rng.randrange(5)
            data: Any
            if kind == 0:
                data = rng.choice([None, 5, "text", [], ["x"], True])
            elif kind == 1:
                data = {"message": rng.choice([None, 3, [], {}, "", "x" * 6000]), "session_id": session_id}
            elif kind == 2:
                data = {"message": "hi", "message_id": rng.choice(["<script>", "a", "x" * 100, 5]), "session_id": 1}
            elif kind == 3:
                data = {"message": "hello", "metadata": rng.choice(["x", 1, []]), "session_id": session_id}
            else:
                data = {"message": fuzz_text(rng) or "?", "message_id": f"fuzz{n:06d}", "session_id": session_id}
            ack = await client.call("user_uttered", data, timeout=60)
            assert isinstance(ack, dict) and set(ack) <= {"ok", "error", "replies"}, ack
            assert_no_leak(json.dumps(ack))
            if ack["ok"]:
                answered += 1
                assert ack["replies"] >= 1
            else:
                assert isinstance(ack["error"], str) and ack["error"]
            if n % 9 == 8:  # new senders keep under the rate limit; the session is the sender here
                await client.emit("session_request", {"session_id": None})
                session_id = await asyncio.wait_for(confirmed.get(), 10)
        await client.eio.disconnect(abort=True)
        return answered

    answered = asyncio.run(scenario())
    assert answered >= 40
    assert all(s.process is not None and s.process.poll() is None for s in started)


def test_the_stores_are_intact_and_the_server_healthy_after_the_fuzz(
    live: tuple[Settings, list[stack.Service]],
) -> None:
    settings, _ = live
    from sqlalchemy import create_engine, text

    engine = create_engine(settings.tracker_store_url)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM events WHERE sender_id LIKE 'fuzz-%'")).scalar()
    engine.dispose()
    assert stored and stored > 100
    engine = create_engine(settings.database_url)
    with engine.connect() as connection:
        therapists = connection.execute(text("SELECT count(*) FROM therapist")).scalar()
    engine.dispose()
    assert therapists and therapists > 0
    assert requests.get(f"{settings.rasa_url}/", timeout=10).ok
    reply = requests.post(
        f"{settings.rasa_url}/webhooks/rest/webhook", json={"sender": "after-fuzz", "message": "hello"}, timeout=60
    )
    assert reply.ok and "/affirm" in reply.text


def test_directory_search_survives_generated_bad_input(tmp_path: Any) -> None:
    from bot.directory import db
    from bot.directory.cli import ensure_directory
    from bot.directory.search import Criteria, search
    from bot.directory.understand import read_message

    url = f"sqlite:///{tmp_path / 'directory.db'}"
    ensure_directory(url, total=200)
    rng = random.Random(SEED + 3)
    asked_slots = [None, "location", "format", "insurance", "budget", "population", "needs", "language", "gender"]
    readings = 0
    for _ in range(400):
        text = fuzz_text(rng)
        for asked in asked_slots:
            read_message(text, asked=asked)
            readings += 1
    searches = 0
    with db.session_scope(url) as session:
        for _ in range(2400):
            text = fuzz_text(rng)
            state = rng.choice(["OH", "CA", text[:2] or "xx"])
            try:
                criteria = Criteria(
                    state=state,
                    format=rng.choice(["either", "telehealth", "in_person"]),
                    city=text if rng.random() < 0.5 else None,
                    insurance=text if rng.random() < 0.3 else None,
                    language=text if rng.random() < 0.2 else None,
                    zip=text[:10] if rng.random() < 0.2 else None,
                    budget=rng.choice([None, -5, 0, 10**9]),
                )
            except ValueError as exc:
                assert "state" in str(exc)  # the only refusal: a clear one
                continue
            page = search(session, criteria=criteria)
            assert page is not None
            searches += 1
    with db.session_scope(url) as session:
        from sqlalchemy import text as sql

        assert session.execute(sql("SELECT count(*) FROM therapist")).scalar() == 200
    assert readings + searches >= 5000
