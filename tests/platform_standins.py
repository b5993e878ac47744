"""Local stand-ins for Twilio's Messages API and Telegram's Bot API, on loopback, for the channel tests.

Each reproduces what the platform documents for the calls we make: the URL layout, authentication
(Twilio: HTTP basic auth with the account SID and auth token; Telegram: the bot token in the path),
request validation with the platform's error format, and rate limiting (429 with ``Retry-After`` on
Twilio, ``parameters.retry_after`` on Telegram). Failures can be injected, and the server can be
stopped and started to play an outage. Everything the channel sent is recorded.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from twilio.request_validator import RequestValidator


@dataclass
class Failure:
    """Answer the next ``count`` calls with ``status`` (and a retry delay for 429)."""

    count: int
    status: int
    retry_after: int | None = None


class LoopServer:
    """An aiohttp app on its own thread and event loop, startable and stoppable from tests."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runner: web.AppRunner | None = None
        self.failures: list[Failure] = []
        self.calls = 0  # every request that reached the API, failed ones included
        self.lock = threading.Lock()

    def app(self) -> web.Application:
        raise NotImplementedError

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=15)

    def start(self) -> None:
        async def go() -> web.AppRunner:
            runner = web.AppRunner(self.app())
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            return runner

        self.runner = self._run(go())

    def stop(self) -> None:
        if self.runner is not None:
            self._run(self.runner.cleanup())
            self.runner = None

    def close(self) -> None:
        """Stop serving, cancel what still runs on the loop (such as socket.io's ping tasks), end the thread."""
        self.stop()

        async def cancel_rest() -> None:
            current = asyncio.current_task()
            for task in asyncio.all_tasks():
                if task is not current:
                    task.cancel()

        self._run(cancel_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)

    def fail_next(self, count: int, status: int, retry_after: int | None = None) -> None:
        """Make the next ``count`` API calls fail with ``status``."""
        with self.lock:
            self.failures.append(Failure(count, status, retry_after))

    def _injected(self) -> Failure | None:
        with self.lock:
            self.calls += 1
            while self.failures and self.failures[0].count <= 0:
                self.failures.pop(0)
            if not self.failures:
                return None
            self.failures[0].count -= 1
            return self.failures[0]


def wait_for(condition: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll until ``condition()`` is truthy and return it; fail the test on time-out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class Sms:
    """One message the channel sent through the Twilio stand-in."""

    to: str
    sender: str
    body: str


class TwilioStandIn(LoopServer):
    """POST /2010-04-01/Accounts/{AccountSid}/Messages.json, as Twilio's REST API documents it."""

    def __init__(self, port: int, account_sid: str, auth_token: str) -> None:
        super().__init__(port)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sent: list[Sms] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        return app

    @staticmethod
    def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        more = f"https://www.twilio.com/docs/errors/{code}"
        body = {"code": code, "message": message, "more_info": more, "status": status}
        return web.json_response(body, status=status, headers=headers)

    async def _create(self, request: web.Request) -> web.Response:
        failure = self._injected()
        if failure is not None:
            if failure.status == 429:
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else None
                return self._error(429, 20429, "Too Many Requests", headers)
            return self._error(failure.status, 20500, "Internal Server Error")
        auth = request.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if auth != expected or request.match_info["sid"] != self.account_sid:
            return self._error(401, 20003, "Authenticate")
        form = await request.post()
        to, sender, body = str(form.get("To", "")), str(form.get("From", "")), str(form.get("Body", ""))
        if not to:
            return self._error(400, 21604, "A 'To' phone number is required.")
        if not sender:
            return self._error(400, 21603, "A 'From' phone number is required.")
        if not body.strip():
            return self._error(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return self._error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        with self.lock:
            self.sent.append(Sms(to, sender, body))
        sid = "SM" + uuid.uuid4().hex
        return web.json_response(
            {"sid": sid, "account_sid": self.account_sid, "to": to, "from": sender, "body": body, "status": "queued"},
            status=201,
        )

    def bodies(self, to: str) -> list[str]:
        """Every body sent to one number, in order."""
        with self.lock:
            return [sms.body for sms in self.sent if sms.to == to]


def twilio_signed(auth_token: str, url: str, params: dict[str, str]) -> dict[str, str]:
    """Headers with the X-Twilio-Signature Twilio would send for this URL and form."""
    return {"X-Twilio-Signature": RequestValidator(auth_token).compute_signature(url, params)}


@dataclass
class TelegramSent:
    """One sendMessage call the channel made."""

    chat_id: str
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


class TelegramStandIn(LoopServer):
    """POST /bot{token}/{method} for sendMessage, answerCallbackQuery and setWebhook, as the Bot API documents."""

    def __init__(self, port: int, token: str) -> None:
        super().__init__(port)
        self.token = token
        self.sent: list[TelegramSent] = []
        self.answered_callbacks: list[str] = []
        self.webhook: dict[str, Any] = {}
        self.message_ids = itertools.count(1)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._method)
        return app

    @staticmethod
    def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=code)

    async def _method(self, request: web.Request) -> web.Response:
        failure = self._injected()
        if failure is not None:
            if failure.status == 429:
                after = failure.retry_after or 1
                return self._error(429, f"Too Many Requests: retry after {after}", {"retry_after": after})
            return self._error(failure.status, "Internal Server Error")
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        try:
            body = json.loads(await request.text() or "{}")
        except ValueError:
            return self._error(400, "Bad Request: can't parse JSON")
        method = request.match_info["method"]
        if method == "sendMessage":
            return self._send_message(body)
        if method == "answerCallbackQuery":
            if not body.get("callback_query_id"):
                return self._error(400, "Bad Request: query ID is invalid")
            with self.lock:
                self.answered_callbacks.append(str(body["callback_query_id"]))
            return web.json_response({"ok": True, "result": True})
        if method == "setWebhook":
            if not str(body.get("url", "")).startswith("https://"):
                return self._error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
            with self.lock:
                self.webhook = body
            return web.json_response({"ok": True, "result": True, "description": "Webhook was set"})
        return self._error(404, "Not Found")

    def _send_message(self, body: dict[str, Any]) -> web.Response:
        text = body.get("text")
        if body.get("chat_id") in (None, ""):
            return self._error(400, "Bad Request: chat_id is empty")
        if not isinstance(text, str) or not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return self._error(400, "Bad Request: message is too long")
        buttons: list[dict[str, str]] = []
        markup = body.get("reply_markup")
        if markup is not None:
            rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
            if not isinstance(rows, list):
                return self._error(400, "Bad Request: can't parse reply keyboard markup JSON object")
            for row in rows:
                for button in row:
                    data = str(button.get("callback_data", ""))
                    if not 1 <= len(data.encode("utf-8")) <= 64:
                        return self._error(400, "Bad Request: BUTTON_DATA_INVALID")
                    buttons.append({"text": str(button.get("text", "")), "callback_data": data})
        with self.lock:
            self.sent.append(TelegramSent(str(body["chat_id"]), text, buttons))
        message_id = next(self.message_ids)
        return web.json_response(
            {"ok": True, "result": {"message_id": message_id, "chat": {"id": body["chat_id"]}, "text": text}}
        )

    def texts(self, chat_id: str) -> list[str]:
        """Every text sent to one chat, in order."""
        with self.lock:
            return [sent.text for sent in self.sent if sent.chat_id == chat_id]

    def last(self, chat_id: str) -> TelegramSent:
        """The newest message sent to one chat."""
        with self.lock:
            return [sent for sent in self.sent if sent.chat_id == chat_id][-1]
