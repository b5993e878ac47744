"""Serve the chat page and proxy chat messages to Rasa's REST channel.

Routes:
    GET  /             the chat page (static/index.html)
    GET  /static/...   the page's script and stylesheet
    GET  /healthz      {"status": "ok"}
    POST /api/message  {"sender": str, "message": str} -> Rasa's list of bot messages

User-facing error wording lives in ``messages.yml`` next to this module. Run with
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

import aiohttp
import yaml
from aiohttp import web

from bot.settings import get_settings

logger = logging.getLogger("bot.web.server")  # stable name, also under `python -m`

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
MESSAGES_FILE = WEB_DIR / "messages.yml"

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
    }
)

SECURITY_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
)

RASA_URL_KEY = web.AppKey("rasa_url", str)
RASA_TIMEOUT_KEY = web.AppKey("rasa_timeout", float)
RASA_SESSION_KEY = web.AppKey("rasa_session", aiohttp.ClientSession)


class InvalidRequest(Exception):
    """A client request that fails validation; carries the HTTP status and message key."""

    def __init__(self, key: str, status: int = 400) -> None:
        super().__init__(key)
        self.key = key
        self.status = status


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
    for name, value in SECURITY_HEADERS.items():
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


def create_app(rasa_url: str, *, rasa_timeout: float = RASA_TIMEOUT_SECONDS) -> web.Application:
    """Build the web application.

    Args:
        rasa_url: Base URL of the Rasa server, e.g. ``http://127.0.0.1:5005``.
        rasa_timeout: Seconds to wait for Rasa before answering 503.

    Returns:
        The configured aiohttp application (not yet running).
    """
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[RASA_URL_KEY] = rasa_url.rstrip("/")
    app[RASA_TIMEOUT_KEY] = float(rasa_timeout)
    app.cleanup_ctx.append(_rasa_session)
    # aiosignal 1.4's Signal typing does not match aiohttp 3.9's callback annotation.
    app.on_response_prepare.append(_add_security_headers)  # type: ignore[arg-type]
    app.router.add_get("/", handle_index)
    app.router.add_get("/healthz", handle_healthz)
    app.router.add_post("/api/message", handle_message)
    app.router.add_static("/static/", STATIC_DIR, show_index=False, follow_symlinks=False)
    return app


def main() -> None:
    """Serve the chat page on ``settings.web_host:settings.web_port``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    load_messages()  # fail fast on a broken messages.yml
    app = create_app(settings.rasa_url)
    logger.info("Chat page on %s, talking to Rasa at %s", settings.web_url, settings.rasa_url)
    web.run_app(app, host=settings.web_host, port=settings.web_port, print=None)


if __name__ == "__main__":
    main()
