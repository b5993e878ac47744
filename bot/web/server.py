"""Serve the chat page; the widget talks to Rasa's socket.io channel directly.

Routes:
    GET  /                        the chat page (static/index.html)
    GET  /static/...              the page's script and stylesheet
    GET  /vendor/socket.io.min.js the socket.io client (npm package socket.io-client, installed by make setup)
    GET  /config.json             where the widget connects, its limits and its wording
    GET  /healthz                 {"status": "ok"}
    POST /api/conversation/clear  {"session_id": str}: deletes that conversation on the Rasa server
    POST /api/message             {"sender": str, "message": str} -> Rasa's list of bot messages (REST proxy,
                                  for clients without socket.io)

User-facing wording lives in ``messages.yml`` next to this module. Every response carries a strict
Content-Security-Policy whose ``connect-src`` names only this page and the Rasa server. Run with
``python -m bot.web.server``; host and port come from ``bot.settings``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import yaml
from aiohttp import web

from bot.settings import get_settings

logger = logging.getLogger("bot.web.server")  # stable name, also under `python -m`

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
MESSAGES_FILE = WEB_DIR / "messages.yml"
SOCKET_IO_CLIENT = WEB_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
SOCKET_IO_PATH = "/socket.io"
REPLY_TIMEOUT_MS = 20000
DELETE_ACTION = "action_delete_conversation"
SESSION_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")

RASA_WEBHOOK_PATH = "/webhooks/rest/webhook"
RASA_TIMEOUT_SECONDS = 10.0
MAX_MESSAGE_CHARS = 2000
MAX_REQUEST_BYTES = 64 * 1024
SENDER_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,64}")

REQUIRED_MESSAGE_KEYS = frozenset(
    {
        "invalid_json",
        "not_an_object",
        "invalid_sender",
        "message_not_text",
        "message_empty",
        "message_too_long",
        "request_too_large",
        "rasa_unavailable",
        "rasa_error",
        "invalid_session",
        "clear_failed",
    }
)

RASA_URL_KEY = web.AppKey("rasa_url", str)
PUBLIC_RASA_URL_KEY = web.AppKey("public_rasa_url", str)
API_TOKEN_KEY = web.AppKey("api_token", str)
HEADERS_KEY = web.AppKey("headers", Mapping)
REPLY_TIMEOUT_KEY = web.AppKey("reply_timeout_ms", int)
RASA_TIMEOUT_KEY = web.AppKey("rasa_timeout", float)
RASA_SESSION_KEY = web.AppKey("rasa_session", aiohttp.ClientSession)


class InvalidRequest(Exception):
    """A client request that fails validation; carries the HTTP status and message key."""

    def __init__(self, key: str, status: int = 400) -> None:
        super().__init__(key)
        self.key = key
        self.status = status


def security_headers(public_rasa_url: str) -> Mapping[str, str]:
    """The headers every response carries, with the Rasa server as the only other connect source.

    Args:
        public_rasa_url: The Rasa server as the browser reaches it, e.g. ``http://127.0.0.1:5005``.

    Returns:
        A read-only mapping of header name to value.
    """
    parts = urlsplit(public_rasa_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"RASA_PUBLIC_URL must be an http(s) URL, got {public_rasa_url!r}")
    socket_scheme = "wss" if parts.scheme == "https" else "ws"
    connect = f"'self' {parts.scheme}://{parts.netloc} {socket_scheme}://{parts.netloc}"
    return MappingProxyType(
        {
            "Content-Security-Policy": (
                f"default-src 'none'; script-src 'self'; style-src 'self'; connect-src {connect}; "
                "img-src 'self' data: blob:; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                "base-uri 'none'; object-src 'none'"
            ),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cross-Origin-Opener-Policy": "same-origin",
            "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        }
    )


@lru_cache(maxsize=1)
def load_widget_texts(path: Path = MESSAGES_FILE) -> Mapping[str, str]:
    """Load the widget's wording (the ``widget`` mapping of ``messages.yml``), once per process.

    Args:
        path: The YAML file.

    Returns:
        A read-only mapping of text key to user-facing text.

    Raises:
        ValueError: If the mapping is missing or a value is not non-empty text.
    """
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    texts = data.get("widget") if isinstance(data, dict) else None
    if not isinstance(texts, dict) or not texts:
        raise ValueError(f"{path} must contain a 'widget' mapping")
    bad = sorted(str(k) for k, v in texts.items() if not isinstance(v, str) or not v.strip())
    if bad:
        raise ValueError(f"{path}: these widget texts must be non-empty text: {', '.join(bad)}")
    return MappingProxyType({str(key): str(text).strip() for key, text in texts.items()})


@lru_cache(maxsize=1)
def load_messages(path: Path = MESSAGES_FILE) -> Mapping[str, str]:
    """Load the user-facing error messages from YAML, once per process.

    Args:
        path: The YAML file with an ``errors`` mapping of message key to text.

    Returns:
        A read-only mapping of message key to user-facing text.

    Raises:
        ValueError: If the file is malformed or a required key is missing.
    """
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, dict):
        raise ValueError(f"{path} must contain an 'errors' mapping")
    bad = sorted(str(k) for k, v in errors.items() if not isinstance(v, str) or not v.strip())
    if bad:
        raise ValueError(f"{path}: these messages must be non-empty text: {', '.join(bad)}")
    missing = sorted(REQUIRED_MESSAGE_KEYS - errors.keys())
    if missing:
        raise ValueError(f"{path} is missing messages: {', '.join(missing)}")
    texts = {str(key): str(text).strip() for key, text in errors.items()}
    texts["message_too_long"] = texts["message_too_long"].replace("{limit}", str(MAX_MESSAGE_CHARS))
    return MappingProxyType(texts)


def error_response(key: str, status: int) -> web.Response:
    """Build a JSON error response whose text comes from ``messages.yml``.

    Args:
        key: The message key under ``errors`` in ``messages.yml``.
        status: The HTTP status code.

    Returns:
        A response with body ``{"error": "<text>"}``.
    """
    return web.json_response({"error": load_messages()[key]}, status=status)


def validate_payload(body: Any) -> tuple[str, str]:
    """Check a decoded ``/api/message`` body.

    Args:
        body: The decoded JSON body.

    Returns:
        The ``(sender, message)`` pair, unchanged.

    Raises:
        InvalidRequest: If the body, sender or message is not acceptable.
    """
    if not isinstance(body, dict):
        raise InvalidRequest("not_an_object")
    sender = body.get("sender")
    if not isinstance(sender, str) or SENDER_PATTERN.fullmatch(sender) is None:
        raise InvalidRequest("invalid_sender")
    message = body.get("message")
    if not isinstance(message, str):
        raise InvalidRequest("message_not_text")
    if not message.strip():
        raise InvalidRequest("message_empty")
    if len(message) > MAX_MESSAGE_CHARS:
        raise InvalidRequest("message_too_long")
    return sender, message


async def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Add the CSP and related headers to every response, including errors and static files."""
    for name, value in request.app[HEADERS_KEY].items():
        response.headers[name] = value


async def _rasa_session(app: web.Application) -> AsyncIterator[None]:
    """Own one HTTP client session for talking to Rasa for the app's lifetime."""
    timeout = aiohttp.ClientTimeout(total=app[RASA_TIMEOUT_KEY])
    async with aiohttp.ClientSession(timeout=timeout) as session:
        app[RASA_SESSION_KEY] = session
        yield


async def handle_index(request: web.Request) -> web.FileResponse:
    """Serve the chat page.

    Args:
        request: The incoming request.

    Returns:
        The contents of ``static/index.html``.
    """
    return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


async def handle_socket_client(request: web.Request) -> web.StreamResponse:
    """Serve the socket.io client script installed from npm.

    Args:
        request: The incoming request.

    Returns:
        The minified client, or 503 with a plain explanation when ``make setup`` has not installed it.
    """
    if not SOCKET_IO_CLIENT.is_file():
        logger.error("%s is missing: run `make setup` to install the web widget's packages", SOCKET_IO_CLIENT)
        return web.Response(status=503, text="socket.io client not installed; run make setup")
    return web.FileResponse(SOCKET_IO_CLIENT, headers={"Cache-Control": "public, max-age=3600"})


async def handle_config(request: web.Request) -> web.Response:
    """Tell the widget where Rasa's socket.io channel is, its limits and its wording.

    Args:
        request: The incoming request.

    Returns:
        ``{"socket_url", "socket_path", "max_chars", "reply_timeout_ms", "texts"}``.
    """
    return web.json_response(
        {
            "socket_url": request.app[PUBLIC_RASA_URL_KEY],
            "socket_path": SOCKET_IO_PATH,
            "max_chars": MAX_MESSAGE_CHARS,
            "reply_timeout_ms": request.app[REPLY_TIMEOUT_KEY],
            "texts": dict(load_widget_texts()),
        },
        headers={"Cache-Control": "no-cache"},
    )


async def handle_clear(request: web.Request) -> web.Response:
    """Delete one conversation on the Rasa server (the widget's "Clear my conversation").

    The session id is a random secret only that browser tab knows. Rasa's HTTP API runs
    ``action_delete_conversation``, which makes the tracker store delete every stored event of the
    conversation; this works even when the action server is down.

    Args:
        request: A POST request with JSON ``{"session_id": str}``.

    Returns:
        ``{"deleted": true}``, or ``{"error": ...}`` with status 400, 502 or 503.
    """
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge:
        return error_response("request_too_large", 413)
    except ValueError:
        return error_response("invalid_json", 400)
    session_id = body.get("session_id") if isinstance(body, dict) else None
    if not isinstance(session_id, str) or SESSION_ID_PATTERN.fullmatch(session_id) is None:
        return error_response("invalid_session", 400)
    url = f"{request.app[RASA_URL_KEY]}/conversations/{session_id}/execute"
    try:
        async with request.app[RASA_SESSION_KEY].post(
            url,
            params={"token": request.app[API_TOKEN_KEY], "include_events": "NONE"},
            json={"name": DELETE_ACTION},
        ) as resp:
            if resp.status != 200:
                logger.warning("Rasa answered the deletion with HTTP %d", resp.status)
                return error_response("clear_failed", 502)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        logger.warning("Rasa at %s is unreachable: %s", request.app[RASA_URL_KEY], type(exc).__name__)
        return error_response("clear_failed", 503)
    logger.info("A conversation was deleted at the user's request from the web page.")
    return web.json_response({"deleted": True})


async def handle_healthz(request: web.Request) -> web.Response:
    """Report that the web server is up (it does not check Rasa).

    Args:
        request: The incoming request.

    Returns:
        ``{"status": "ok"}``.
    """
    return web.json_response({"status": "ok"})


async def handle_message(request: web.Request) -> web.Response:
    """Validate a chat message and forward it to Rasa's REST channel.

    Args:
        request: A POST request with JSON ``{"sender": str, "message": str}``.

    Returns:
        Rasa's JSON list of bot messages, or a JSON ``{"error": ...}`` with status 400
        (bad input), 413 (body too large), 502 (Rasa answered with an error) or
        503 (Rasa unreachable or timed out).
    """
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge:
        return error_response("request_too_large", 413)
    except ValueError:  # includes json.JSONDecodeError and UnicodeDecodeError
        return error_response("invalid_json", 400)
    try:
        sender, message = validate_payload(body)
    except InvalidRequest as exc:
        return error_response(exc.key, exc.status)

    url = request.app[RASA_URL_KEY] + RASA_WEBHOOK_PATH
    session = request.app[RASA_SESSION_KEY]
    logger.debug("Forwarding a message of %d characters to Rasa", len(message))
    try:
        async with session.post(url, json={"sender": sender, "message": message}) as resp:
            if resp.status != 200:
                logger.warning("Rasa answered with HTTP %d", resp.status)
                return error_response("rasa_error", 502)
            replies = await resp.json(content_type=None)
    # On Python 3.10 asyncio.TimeoutError is not the builtin TimeoutError; aiohttp raises the former.
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        logger.warning("Rasa at %s is unreachable: %s", request.app[RASA_URL_KEY], type(exc).__name__)
        return error_response("rasa_unavailable", 503)
    except json.JSONDecodeError:
        logger.warning("Rasa answered with a body that is not JSON")
        return error_response("rasa_error", 502)
    if not isinstance(replies, list):
        logger.warning("Rasa answered with JSON that is not a list")
        return error_response("rasa_error", 502)
    logger.debug("Rasa sent %d replies", len(replies))
    return web.json_response(replies)


def create_app(
    rasa_url: str,
    *,
    rasa_timeout: float = RASA_TIMEOUT_SECONDS,
    public_rasa_url: str | None = None,
    api_token: str = "",
    reply_timeout_ms: int = REPLY_TIMEOUT_MS,
) -> web.Application:
    """Build the web application.

    Args:
        rasa_url: Base URL of the Rasa server as this server reaches it, e.g. ``http://127.0.0.1:5005``.
        rasa_timeout: Seconds to wait for Rasa before answering 503.
        public_rasa_url: The Rasa server as the browser reaches it (defaults to ``rasa_url``).
        api_token: Token for Rasa's HTTP API (used to delete a conversation).
        reply_timeout_ms: How long the widget waits for a reply before it re-sends the message.

    Returns:
        The configured aiohttp application (not yet running).
    """
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[RASA_URL_KEY] = rasa_url.rstrip("/")
    app[PUBLIC_RASA_URL_KEY] = (public_rasa_url or rasa_url).rstrip("/")
    app[API_TOKEN_KEY] = api_token
    app[REPLY_TIMEOUT_KEY] = int(reply_timeout_ms)
    app[HEADERS_KEY] = security_headers(app[PUBLIC_RASA_URL_KEY])
    app[RASA_TIMEOUT_KEY] = float(rasa_timeout)
    app.cleanup_ctx.append(_rasa_session)
    # aiosignal 1.4's Signal typing does not match aiohttp 3.9's callback annotation.
    app.on_response_prepare.append(_add_security_headers)  # type: ignore[arg-type]
    app.router.add_get("/", handle_index)
    app.router.add_get("/healthz", handle_healthz)
    app.router.add_get("/config.json", handle_config)
    app.router.add_get("/vendor/socket.io.min.js", handle_socket_client)
    app.router.add_post("/api/message", handle_message)
    app.router.add_post("/api/conversation/clear", handle_clear)
    app.router.add_static("/static/", STATIC_DIR, show_index=False, follow_symlinks=False)
    return app


def main() -> None:
    """Serve the chat page on ``settings.web_host:settings.web_port``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    load_messages()  # fail fast on a broken messages.yml
    load_widget_texts()
    if not SOCKET_IO_CLIENT.is_file():
        raise SystemExit(f"{SOCKET_IO_CLIENT} is missing: run `make setup` to install the web widget's packages.")
    app = create_app(settings.rasa_url, public_rasa_url=settings.rasa_public_url, api_token=settings.rasa_api_token)
    logger.info("Chat page on %s, talking to Rasa at %s", settings.web_url, settings.rasa_url)
    web.run_app(app, host=settings.web_host, port=settings.web_port, print=None)


if __name__ == "__main__":
    main()
