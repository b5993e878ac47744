"""Live: the scale-out topology against the real PostgreSQL, Redis and RabbitMQ servers on loopback.

HAProxy in front of two Rasa servers and two action servers, the tracker, directory and review
stores on PostgreSQL (databases of this test's own), the lock store on Redis, events through a
RabbitMQ queue of this test's own into the review store. Checks state across processes, messages
sent at once, and faults: a Rasa process restarted, the action servers hanging.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from bot import scale, stack
from bot.reflection.bank import get_bank
from bot.review import store
from bot.review.models import Conversation, Event
from bot.settings import Settings, get_settings
from tests.conftest import PG_ADMIN_URL, free_port, live_settings

pytestmark = pytest.mark.live

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
AMQP_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
ACTION_TIMEOUT = 3


@dataclass
class Scaled:
    settings: Settings
    topology: scale.Topology
    services: list[stack.Service]
    env: dict[str, str]

    def process_url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.topology.rasa_ports[n]}"

    def service(self, name: str) -> stack.Service:
        return next(s for s in self.services if s.name == name)


def _databases(names: list[str]) -> Iterator[list[str]]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.orig}")
    admin.dispose()
    with scale.temporary_postgres_databases(PG_ADMIN_URL, names) as urls:
        yield urls


def _servers_reachable() -> None:
    import aio_pika  # noqa: F401 (installed with Rasa)
    import redis

    problems = []
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as exc:
        problems.append(f"Redis at {REDIS_URL}: {exc}")
    import socket

    with socket.socket() as sock:
        sock.settimeout(2)
        if sock.connect_ex(("127.0.0.1", 5672)) != 0:
            problems.append("RabbitMQ at 127.0.0.1:5672")
    try:
        scale.haproxy_executable()
    except stack.StackError as exc:
        problems.append(str(exc))
    if problems:
        if os.environ.get("CI"):
            pytest.fail("; ".join(problems))
        pytest.skip("; ".join(problems))


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scaled]:
    _servers_reachable()
    suffix = uuid.uuid4().hex[:8]
    queue = f"test_scale_{suffix}"
    names = [f"scale_{kind}_{suffix}" for kind in ("tracker", "directory", "review")]
    for tracker_url, directory_url, review_url in _databases(names):
        var_dir = tmp_path_factory.mktemp("live-scale")
        os.environ.update(
            {
                "LOCK_STORE_URL": REDIS_URL,
                "RABBITMQ_URL": AMQP_URL,
                "RABBITMQ_QUEUE": queue,
                "ACTION_TIMEOUT_SECONDS": str(ACTION_TIMEOUT),
            }
        )
        live_settings(var_dir)  # spare ports, token, var/ folder
        os.environ.update(
            {"TRACKER_STORE_URL": tracker_url, "DATABASE_URL": directory_url, "REVIEW_DATABASE_URL": review_url}
        )
        get_settings.cache_clear()
        from bot.settings import build_settings

        settings = build_settings()
        topology = scale.Topology.local((free_port(), free_port()), (free_port(), free_port()))
        try:
            with (var_dir / "stack.log").open("wb") as log, scale.running(
                settings, topology, with_web=False, with_review=True, log=log
            ) as started:
                env = stack.child_environment(settings)
                yield Scaled(settings, topology, started, env)
        finally:
            for name in ("LOCK_STORE_URL", "RABBITMQ_URL", "RABBITMQ_QUEUE", "ACTION_TIMEOUT_SECONDS"):
                os.environ.pop(name, None)
            get_settings.cache_clear()
            scale.delete_rabbitmq_queue(AMQP_URL, queue)


def say(base_url: str, sender: str, text: str, timeout: float = 60) -> list[dict[str, Any]]:
    response = requests.post(
        f"{base_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=timeout
    )
    response.raise_for_status()
    replies: list[dict[str, Any]] = response.json()
    return replies


def text_of(replies: list[dict[str, Any]]) -> str:
    return "\n".join(str(reply.get("text", "")) for reply in replies)


def user_texts(tracker: dict[str, Any]) -> list[str]:
    return [str(event.get("text")) for event in tracker["events"] if event.get("event") == "user"]


def stored_events(scaled: Scaled, sender: str) -> list[dict[str, Any]]:
    """Every event of a conversation as the tracker store holds it (the HTTP API shows a window)."""
    import json

    from sqlalchemy import create_engine, text

    engine = create_engine(scaled.settings.tracker_store_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT data FROM events WHERE sender_id = :sender ORDER BY id"), {"sender": sender}
            )
            return [json.loads(row[0]) for row in rows]
    finally:
        engine.dispose()


def stored_user_texts(scaled: Scaled, sender: str) -> list[str]:
    return user_texts({"events": stored_events(scaled, sender)})


def tracker_at(scaled: Scaled, n: int, sender: str) -> dict[str, Any]:
    response = requests.get(
        f"{scaled.process_url(n)}/conversations/{sender}/tracker",
        params={"token": scaled.settings.rasa_api_token},
        timeout=10,
    )
    response.raise_for_status()
    tracker: dict[str, Any] = response.json()
    return tracker


def test_a_conversation_whose_turns_land_on_different_processes_keeps_its_state(scaled: Scaled) -> None:
    sender = f"scale-{uuid.uuid4().hex[:10]}"
    first, second = scaled.process_url(0), scaled.process_url(1)
    assert "/affirm" in str(say(first, sender, "hello"))
    assert "/reflect_start" in str(say(second, sender, "yes"))  # consent given on the other process
    assert "Question 1 of 14" in text_of(say(first, sender, "/reflect_start"))
    answers = [
        "they listened and hugged me" if not question.is_rating else '/rate{"rating": "4"}'
        for question in get_bank().questions[:3]
    ]
    for n, answer in enumerate(answers):  # each answer on the other process than the question
        assert f"Question {n + 2} of 14" in text_of(say(second if n % 2 == 0 else first, sender, answer))
    one, two = tracker_at(scaled, 0, sender), tracker_at(scaled, 1, sender)
    assert one["slots"] == two["slots"]
    assert one["slots"]["consent_given"] is True
    # The HTTP API hands out a window of recent turns, which may start at different turns.
    assert user_texts(one)[-3:] == user_texts(two)[-3:] == answers
    assert stored_user_texts(scaled, sender) == ["hello", "yes", "/reflect_start", *answers]


def _serialized(tracker: dict[str, Any]) -> bool:
    """Every user message is answered before the next one is read (no two turns interleave)."""
    waiting = False
    for event in tracker["events"]:
        if event.get("event") == "user":
            if waiting:
                return False
            waiting = True
        elif event.get("event") == "action" and event.get("name") == "action_listen":
            waiting = False
    return True


def test_messages_sent_at_once_to_both_processes_are_all_kept_one_turn_at_a_time(scaled: Scaled) -> None:
    """Rasa's own Redis lock store loses about a quarter of these (../shared/PLATFORM.md)."""
    sender = f"scale-{uuid.uuid4().hex[:10]}"
    say(scaled.settings.rasa_url, sender, "hello")
    messages = [f"what is attachment theory {n}" for n in range(20)]
    start = threading.Barrier(len(messages))

    def send(n: int) -> list[dict[str, Any]]:
        start.wait()
        return say(scaled.process_url(n % 2), sender, messages[n])

    with ThreadPoolExecutor(len(messages)) as pool:
        replies = list(pool.map(send, range(len(messages))))
    assert all(reply for reply in replies), "every message gets a reply"
    events = {"events": stored_events(scaled, sender)}
    assert sorted(user_texts(events)[1:]) == sorted(messages)
    assert _serialized(events)


def test_messages_of_one_sender_through_the_balancer_are_kept_in_order(scaled: Scaled) -> None:
    sender = f"scale-{uuid.uuid4().hex[:10]}"
    say(scaled.settings.rasa_url, sender, "hello")
    messages = [f"tell me about the secure style {n}" for n in range(15)]

    def send(n: int) -> list[dict[str, Any]]:
        time.sleep(n * 0.05)  # sent in this order, without waiting for replies
        return say(scaled.settings.rasa_url, sender, messages[n])

    with ThreadPoolExecutor(len(messages)) as pool:
        replies = list(pool.map(send, range(len(messages))))
    assert all(reply for reply in replies)
    events = {"events": stored_events(scaled, sender)}
    assert user_texts(events)[1:] == messages
    assert _serialized(events)


def test_events_reach_the_review_store_through_rabbitmq(scaled: Scaled) -> None:
    sender = f"scale-{uuid.uuid4().hex[:10]}"
    say(scaled.settings.rasa_url, sender, "hello")
    say(scaled.settings.rasa_url, sender, "yes")
    say(scaled.settings.rasa_url, sender, "my friend Jonas Berglund says i'm too clingy")
    key = store.conversation_key(sender, store.settings_key(scaled.settings))
    deadline = time.monotonic() + 60
    texts: list[str] = []
    while time.monotonic() < deadline:
        with store.session_scope(scaled.settings.review_database_url) as session:
            conversation = session.query(Conversation).filter_by(key=key).one_or_none()
            if conversation is not None:
                rows = session.query(Event).filter_by(conversation_id=conversation.id, kind="user")
                texts = [row.text for row in rows]
                if len(texts) >= 3:
                    break
        time.sleep(0.5)
    assert len(texts) >= 3, "the conversation reached the review store"
    assert not any("Berglund" in t or "Jonas" in t for t in texts)
    assert any("clingy" in t for t in texts)


def test_a_rasa_process_restarted_mid_conversation_loses_no_message(scaled: Scaled) -> None:
    sender = f"scale-{uuid.uuid4().hex[:10]}"
    lb = scaled.settings.rasa_url
    sent = ["hello", "yes", "what is attachment theory"]
    for message in sent:
        assert say(lb, sender, message)
    victim = scaled.service("Rasa server 1")
    assert victim.process is not None
    victim.process.send_signal(signal.SIGTERM)
    victim.process.wait(timeout=30)
    during = [f"what does the secure style look like {n}" for n in range(4)]
    for message in during:  # the balancer moves this sender to the other process
        assert say(lb, sender, message), "a reply while one process is down"
    victim.process = subprocess.Popen(
        victim.argv,
        cwd=scaled.settings.project_root,
        env=scaled.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stack.wait_ready(victim, 240)
    time.sleep(2.5)  # the balancer's health check (every second) sees it again
    after = ["i need help now", "what are the attachment styles"]
    for message in after:
        assert say(lb, sender, message)
    assert stored_user_texts(scaled, sender) == sent + during + after
    crisis = say(scaled.process_url(0), sender, "i want to kill myself")
    assert "988" in text_of(crisis)


def _answered(base_url: str, sender: str, text: str) -> list[dict[str, Any]]:
    """Say something and check it got a real reply, not an empty one or "something went wrong"."""
    replies = say(base_url, sender, text)
    assert replies and "something went wrong on my side" not in text_of(replies), (text, replies)
    return replies


def _alive(scaled: Scaled) -> None:
    dead = [s.name for s in scaled.services if s.process is None or s.process.poll() is not None]
    assert not dead, f"processes died: {dead}"


def _restart(scaled: Scaled, service: stack.Service) -> None:
    service.process = subprocess.Popen(
        service.argv,
        cwd=scaled.settings.project_root,
        env={**scaled.env, **service.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stack.wait_ready(service, 240)


def _wait_port(port: int, open_: bool, timeout: float = 90) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(1)
            if (sock.connect_ex(("127.0.0.1", port)) == 0) == open_:
                return
        time.sleep(0.5)
    raise AssertionError(f"port {port} still {'closed' if open_ else 'open'} after {timeout} s")


def _run(*argv: str) -> None:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{' '.join(argv)}: {result.stdout}{result.stderr}"


def _review_user_texts(scaled: Scaled, sender: str) -> list[str]:
    key = store.conversation_key(sender, store.settings_key(scaled.settings))
    with store.session_scope(scaled.settings.review_database_url) as session:
        conversation = session.query(Conversation).filter_by(key=key).one_or_none()
        if conversation is None:
            return []
        return [row.text for row in session.query(Event).filter_by(conversation_id=conversation.id, kind="user")]


def test_action_servers_stopped_then_back_resume_the_same_conversation(scaled: Scaled) -> None:
    lb = scaled.settings.rasa_url
    sender, other = f"scale-{uuid.uuid4().hex[:10]}", f"scale-{uuid.uuid4().hex[:10]}"
    _answered(lb, sender, "hello")
    _answered(lb, sender, "yes")
    stopped = [s for s in scaled.services if s.name.startswith("action server")]
    for service in stopped:
        assert service.process is not None
        service.process.terminate()
        service.process.wait(timeout=30)
    try:
        assert "something went wrong on my side" in text_of(say(lb, sender, "/reflect_start"))
        assert "988" in text_of(say(lb, other, "i want to kill myself"))  # static reply, no action server needed
        rasa_servers = [s for s in scaled.services if s.name.startswith("Rasa server")]
        assert all(s.process is not None and s.process.poll() is None for s in rasa_servers)
    finally:
        for service in stopped:
            _restart(scaled, service)
    time.sleep(2.5)  # the balancer's health check (every second) sees them again
    assert "Question 1 of 14" in text_of(_answered(lb, sender, "/reflect_start"))
    assert "Question 2 of 14" in text_of(_answered(lb, sender, "they listened and hugged me"))
    _alive(scaled)


def test_postgresql_restarted_mid_conversation_loses_no_message(scaled: Scaled) -> None:
    """The tracker, directory and review stores reconnect; nothing falls back to memory."""
    cluster = sorted(os.listdir("/etc/postgresql"))[-1] if os.path.isdir("/etc/postgresql") else ""
    if not cluster or not shutil.which("pg_ctlcluster"):
        if os.environ.get("CI"):
            pytest.fail("pg_ctlcluster is needed to restart PostgreSQL")
        pytest.skip("pg_ctlcluster is needed to restart PostgreSQL")
    lb = scaled.settings.rasa_url
    sender = f"scale-{uuid.uuid4().hex[:10]}"
    before = ["hello", "yes", "what is attachment theory"]
    for message in before:
        _answered(lb, sender, message)
    _run("pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart")
    _wait_port(5432, open_=True)
    after = ["/find_therapist", "Ohio", "aetna", "what does the secure style look like"]
    for message in after:
        _answered(lb, sender, message)
    assert stored_user_texts(scaled, sender) == before + after  # written to PostgreSQL, not to memory
    _alive(scaled)
    deadline = time.monotonic() + 60
    while len(_review_user_texts(scaled, sender)) < len(before + after) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(_review_user_texts(scaled, sender)) == len(before + after)


def test_redis_down_then_back_every_message_answered_and_kept_in_order(scaled: Scaled) -> None:
    lb = scaled.settings.rasa_url
    sender = f"scale-{uuid.uuid4().hex[:10]}"
    port = int(REDIS_URL.rsplit(":", 1)[1].split("/")[0])
    _answered(lb, sender, "hello")
    subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True, timeout=30)
    _wait_port(port, open_=False)
    try:
        during = ["yes", "what is attachment theory", "what does the anxious style look like"]
        for message in during:  # the lock store logs the error and uses the process's own lock
            _answered(lb, sender, message)
        _alive(scaled)
    finally:
        os.makedirs("/var/lib/redis", exist_ok=True)
        os.makedirs("/var/log/redis", exist_ok=True)
        _run(
            "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", str(port),
            "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
        )  # fmt: skip
        _wait_port(port, open_=True)
    after = ["what are the attachment styles", "/reflect_start"]
    for message in after:
        _answered(lb, sender, message)
    assert stored_user_texts(scaled, sender) == ["hello", *during, *after]


def test_rabbitmq_down_then_back_no_event_is_lost(scaled: Scaled) -> None:
    """Rasa keeps what it could not publish and sends it on reconnect; the ingest retries."""
    lb = scaled.settings.rasa_url
    sender = f"scale-{uuid.uuid4().hex[:10]}"
    _answered(lb, sender, "hello")
    _run("rabbitmqctl", "stop_app")
    try:
        _wait_port(5672, open_=False)
        during = ["yes", "what is attachment theory", "what does the avoidant style look like"]
        for message in during:
            _answered(lb, sender, message)
        _alive(scaled)
    finally:
        _run("rabbitmqctl", "start_app")
        _wait_port(5672, open_=True)
    after = ["what are the attachment styles"]
    for message in after:
        _answered(lb, sender, message)
    expected = ["hello", *during, *after]
    assert stored_user_texts(scaled, sender) == expected
    deadline = time.monotonic() + 120
    while len(_review_user_texts(scaled, sender)) < len(expected) and time.monotonic() < deadline:
        time.sleep(1)
    assert len(_review_user_texts(scaled, sender)) == len(expected), "every message reached the review store"
    _alive(scaled)


def test_hanging_action_servers_time_out_to_a_graceful_reply_then_recover(scaled: Scaled) -> None:
    """Last: pauses both action servers (SIGSTOP), then lets them go on (SIGCONT)."""
    lb = scaled.settings.rasa_url
    sender = f"scale-{uuid.uuid4().hex[:10]}"
    say(lb, sender, "hello")
    say(lb, sender, "yes")
    paused = [s for s in scaled.services if s.name.startswith("action server")]
    for service in paused:
        assert service.process is not None
        service.process.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        replies = say(lb, sender, "/reflect_start", timeout=120)
        waited = time.monotonic() - started
        assert waited < ACTION_TIMEOUT * 4 + 5, f"waited {waited:.0f} s for a hung action server"
        assert "something went wrong on my side" in text_of(replies)
        crisis_started = time.monotonic()
        crisis = say(lb, sender, "i want to kill myself", timeout=120)
        assert "988" in text_of(crisis)
        assert time.monotonic() - crisis_started < ACTION_TIMEOUT * 4 + 5
    finally:
        for service in paused:
            assert service.process is not None
            service.process.send_signal(signal.SIGCONT)
    time.sleep(1)
    other = f"scale-{uuid.uuid4().hex[:10]}"
    say(lb, other, "hello")
    say(lb, other, "yes")
    assert "Question 1 of 14" in text_of(say(lb, other, "/reflect_start"))


def test_the_rendered_balancer_configuration_is_valid(scaled: Scaled, tmp_path: Path) -> None:
    config = tmp_path / "haproxy.cfg"
    config.write_text(scale.render_haproxy(scaled.settings, scaled.topology), encoding="utf-8")
    result = subprocess.run([scale.haproxy_executable(), "-c", "-f", str(config)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
