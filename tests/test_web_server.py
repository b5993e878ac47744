"""Tests for the chat page server (bot.web.server), with a stub Rasa on an ephemeral port."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.web import server
from bot.web.server import create_app, load_messages, load_widget_texts, security_headers

SENDER = "test_sender-0123"
UNREACHABLE = "The assistant can't be reached right now. Your message was not lost; please try again."
PUBLIC_RASA = "http://127.0.0.1:5005"
TOKEN = "test-token-123"
SESSION = "0123456789abcdef0123456789abcdef"
EXPECTED_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self' http://127.0.0.1:5005 ws://127.0.0.1:5005; img-src 'self' data: blob:; font-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
STUB_REPLY = [
    {"recipient_id": SENDER, "text": "Hello.\n\nSecond paragraph."},
    {
        "recipient_id": SENDER,
        "text": "Are you okay with going ahead on those terms?",
        "buttons": [{"title": "Yes, that's okay", "payload": "/affirm"}],
    },
]

Check = Callable[[TestClient], Awaitable[None]]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stub_rasa(received: list[Any], *, delay: float = 0.0, status: int = 200) -> web.Application:
    async def webhook(request: web.Request) -> web.Response:
        received.append(await request.json())
        if delay:
            await asyncio.sleep(delay)
        if status != 200:
            return web.json_response({"error": "boom"}, status=status)
        return web.json_response(STUB_REPLY)

    async def execute(request: web.Request) -> web.Response:
        received.append(
            {
                "path": request.path,
                "token": request.query.get("token"),
                "include_events": request.query.get("include_events"),
                "body": await request.json(),
            }
        )
        if status != 200:
            return web.json_response({"error": "boom"}, status=status)
        return web.json_response({"tracker": None, "messages": []})

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    app.router.add_post("/conversations/{sender}/execute", execute)
    return app


def _run(check: Check, rasa_url: str | None = None, **rasa_kwargs: Any) -> list[Any]:
    """Run ``check`` against the chat server; start a stub Rasa unless ``rasa_url`` is given."""
    received: list[Any] = []

    async def main() -> None:
        stub: TestServer | None = None
        url = rasa_url
        if url is None:
            stub = TestServer(_stub_rasa(received, **rasa_kwargs), host="127.0.0.1")
            await stub.start_server()
            url = str(stub.make_url("")).rstrip("/")
        timeout = 0.3 if rasa_kwargs.get("delay") else 10.0
        app = create_app(url, rasa_timeout=timeout, public_rasa_url=PUBLIC_RASA, api_token=TOKEN)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        try:
            await check(client)
        finally:
            await client.close()
            if stub is not None:
                await stub.close()

    asyncio.run(main())
    return received


def _assert_security_headers(resp: Any) -> None:
    assert resp.headers["Content-Security-Policy"] == EXPECTED_CSP
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"


def test_csp_names_only_this_page_and_the_rasa_server() -> None:
    assert security_headers(PUBLIC_RASA)["Content-Security-Policy"] == EXPECTED_CSP
    secure = security_headers("https://chat.example.org/")["Content-Security-Policy"]
    assert "connect-src 'self' https://chat.example.org wss://chat.example.org;" in secure
    assert "unsafe-inline" not in secure and "unsafe-eval" not in secure


@pytest.mark.parametrize("url", ["", "127.0.0.1:5005", "javascript:alert(1)", "ftp://x.org"])
def test_bad_public_rasa_url_is_refused_at_start(url: str) -> None:
    with pytest.raises(ValueError, match="RASA_PUBLIC_URL"):
        security_headers(url)


def test_config_tells_the_widget_where_and_how_to_talk() -> None:
    async def check(client: TestClient) -> None:
        resp = await client.get("/config.json")
        assert resp.status == 200
        _assert_security_headers(resp)
        config = await resp.json()
        assert config["socket_url"] == PUBLIC_RASA
        assert config["socket_path"] == "/socket.io"
        assert config["max_chars"] == 2000
        assert 1000 <= config["reply_timeout_ms"] <= 60000
        assert config["texts"] == dict(load_widget_texts())
        assert "token" not in str(config).lower() and TOKEN not in str(config)

    _run(check)


def test_widget_texts_are_data_and_complete() -> None:
    texts = load_widget_texts()
    for key in ("offline", "retrying", "typing", "no_reply", "clear_question", "cleared", "clear_failed"):
        assert texts[key].strip(), key


def test_socket_io_client_is_served_from_the_npm_package() -> None:
    async def check(client: TestClient) -> None:
        resp = await client.get("/vendor/socket.io.min.js")
        assert resp.status == 200
        assert "javascript" in resp.content_type
        _assert_security_headers(resp)
        assert "Socket.IO" in (await resp.text())[:400]

    assert server.SOCKET_IO_CLIENT.is_file(), "make setup installs socket.io-client under bot/web/node_modules"
    _run(check)


def test_missing_socket_io_client_gives_a_clear_503(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setattr(server, "SOCKET_IO_CLIENT", tmp_path / "missing.js")

    async def check(client: TestClient) -> None:
        resp = await client.get("/vendor/socket.io.min.js")
        assert resp.status == 503
        assert "make setup" in await resp.text()

    _run(check)


def test_clear_runs_the_delete_action_through_rasas_api() -> None:
    async def check(client: TestClient) -> None:
        resp = await client.post("/api/conversation/clear", json={"session_id": SESSION})
        assert resp.status == 200
        assert await resp.json() == {"deleted": True}
        _assert_security_headers(resp)

    received = _run(check)
    assert received == [
        {
            "path": f"/conversations/{SESSION}/execute",
            "token": TOKEN,
            "include_events": "NONE",
            "body": {"name": "action_delete_conversation"},
        }
    ]


@pytest.mark.parametrize(
    "body",
    [{}, {"session_id": "short"}, {"session_id": "../../model"}, {"session_id": 1234567890123456}, ["x"], None],
)
def test_clear_refuses_a_bad_session_id(body: Any) -> None:
    async def check(client: TestClient) -> None:
        resp = await client.post(
            "/api/conversation/clear", data=json.dumps(body), headers={"Content-Type": "application/json"}
        )
        assert resp.status == 400
        assert await resp.json() == {"error": load_messages()["invalid_session"]}

    assert _run(check) == []


def test_clear_reports_failure_when_rasa_fails_or_is_down() -> None:
    async def check_error(client: TestClient) -> None:
        resp = await client.post("/api/conversation/clear", json={"session_id": SESSION})
        assert resp.status == 502
        assert await resp.json() == {"error": load_messages()["clear_failed"]}

    async def check_down(client: TestClient) -> None:
        resp = await client.post("/api/conversation/clear", json={"session_id": SESSION})
        assert resp.status == 503
        assert await resp.json() == {"error": load_messages()["clear_failed"]}

    assert len(_run(check_error, status=500)) == 1
    _run(check_down, rasa_url=f"http://127.0.0.1:{_free_port()}")


def test_index_is_served_with_security_headers() -> None:
    async def check(client: TestClient) -> None:
        resp = await client.get("/")
        assert resp.status == 200
        assert resp.content_type == "text/html"
        _assert_security_headers(resp)
        html = await resp.text()
        assert 'role="log"' in html
        assert 'aria-live="polite"' in html
        assert "Get help now" in html
        assert "988" in html and "741741" in html and "911" in html
        assert "<style" not in html and " style=" not in html
        assert "<script>" not in html and "onclick" not in html.lower()

    _run(check)


def test_static_files_health_and_errors_carry_security_headers() -> None:
    async def check(client: TestClient) -> None:
        for path, content_type in (("/static/chat.js", "javascript"), ("/static/chat.css", "text/css")):
            resp = await client.get(path)
            assert resp.status == 200, path
            assert content_type in resp.content_type
            _assert_security_headers(resp)
        resp = await client.get("/healthz")
        assert resp.status == 200
        assert await resp.json() == {"status": "ok"}
        _assert_security_headers(resp)
        resp = await client.get("/no-such-page")
        assert resp.status == 404
        _assert_security_headers(resp)
        resp = await client.get("/static/../server.py")
        assert resp.status in (403, 404)

    _run(check)


def test_message_is_forwarded_to_rasa_and_reply_returned() -> None:
    async def check(client: TestClient) -> None:
        resp = await client.post(
            "/api/message",
            json={"sender": SENDER, "message": "hello there", "metadata": {"x": 1}},
        )
        assert resp.status == 200
        assert await resp.json() == STUB_REPLY
        _assert_security_headers(resp)

    received = _run(check)
    assert received == [{"sender": SENDER, "message": "hello there"}]


def test_message_of_exactly_2000_chars_is_accepted() -> None:
    async def check(client: TestClient) -> None:
        resp = await client.post("/api/message", json={"sender": SENDER, "message": "a" * 2000})
        assert resp.status == 200

    assert len(_run(check)) == 1


BAD_BODIES: list[tuple[str, Any, str]] = [
    ("missing sender", {"message": "hello"}, "invalid_sender"),
    ("short sender", {"sender": "abc", "message": "hello"}, "invalid_sender"),
    ("long sender", {"sender": "a" * 65, "message": "hello"}, "invalid_sender"),
    ("sender with bad chars", {"sender": "abc def/ghij", "message": "hello"}, "invalid_sender"),
    ("sender with newline", {"sender": "abcdefgh\n", "message": "hello"}, "invalid_sender"),
    ("sender not a string", {"sender": 12345678, "message": "hello"}, "invalid_sender"),
    ("missing message", {"sender": SENDER}, "message_not_text"),
    ("message not a string", {"sender": SENDER, "message": ["hello"]}, "message_not_text"),
    ("message null", {"sender": SENDER, "message": None}, "message_not_text"),
    ("empty message", {"sender": SENDER, "message": ""}, "message_empty"),
    ("blank message", {"sender": SENDER, "message": "  \n "}, "message_empty"),
    ("3000-char message", {"sender": SENDER, "message": "x" * 3000}, "message_too_long"),
    ("JSON list", [SENDER, "hello"], "not_an_object"),
    ("JSON string", "hello", "not_an_object"),
]


@pytest.mark.parametrize(("body", "key"), [(b, k) for _, b, k in BAD_BODIES], ids=[n for n, _, _ in BAD_BODIES])
def test_bad_input_is_rejected_with_400(body: Any, key: str) -> None:
    async def check(client: TestClient) -> None:
        resp = await client.post("/api/message", json=body)
        assert resp.status == 400
        assert await resp.json() == {"error": load_messages()[key]}
        _assert_security_headers(resp)

    assert _run(check) == []  # nothing reached Rasa


@pytest.mark.parametrize("raw", [b"", b"not json", b"{'sender': 'x'}", b"\xff\xfe\x00"])
def test_non_json_body_is_rejected_with_400(raw: bytes) -> None:
    async def check(client: TestClient) -> None:
        resp = await client.post("/api/message", data=raw, headers={"Content-Type": "application/json"})
        assert resp.status == 400
        assert await resp.json() == {"error": load_messages()["invalid_json"]}

    assert _run(check) == []


def test_error_messages_are_clear() -> None:
    messages = load_messages()
    assert "2000" in messages["message_too_long"]
    assert "{limit}" not in messages["message_too_long"]
    assert "8 to 64" in messages["invalid_sender"]
    assert messages["rasa_unavailable"] == UNREACHABLE


def test_huge_body_is_rejected_with_413() -> None:
    async def check(client: TestClient) -> None:
        resp = await client.post("/api/message", json={"sender": SENDER, "message": "x" * 200_000})
        assert resp.status == 413
        assert await resp.json() == {"error": load_messages()["request_too_large"]}

    assert _run(check) == []


def test_rasa_down_gives_503() -> None:
    async def check(client: TestClient) -> None:
        resp = await client.post("/api/message", json={"sender": SENDER, "message": "hello"})
        assert resp.status == 503
        assert await resp.json() == {"error": UNREACHABLE}
        _assert_security_headers(resp)

    _run(check, rasa_url=f"http://127.0.0.1:{_free_port()}")


def test_rasa_timeout_gives_503() -> None:
    async def check(client: TestClient) -> None:
        resp = await client.post("/api/message", json={"sender": SENDER, "message": "hello"})
        assert resp.status == 503
        assert await resp.json() == {"error": UNREACHABLE}

    assert len(_run(check, delay=1.0)) == 1


def test_rasa_error_gives_502() -> None:
    async def check(client: TestClient) -> None:
        resp = await client.post("/api/message", json={"sender": SENDER, "message": "hello"})
        assert resp.status == 502
        assert await resp.json() == {"error": load_messages()["rasa_error"]}

    _run(check, status=500)


def test_message_text_is_not_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    secret = "my very private words 7f3a"

    async def check(client: TestClient) -> None:
        await client.post("/api/message", json={"sender": SENDER, "message": secret})

    with caplog.at_level(logging.INFO):
        _run(check)
        _run(check, rasa_url=f"http://127.0.0.1:{_free_port()}")
    assert caplog.records  # the 503 path logs a warning
    assert all(secret not in record.getMessage() for record in caplog.records)
