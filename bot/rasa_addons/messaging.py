"""SMS through Twilio and Telegram: verified webhooks, rendering per channel, sending with retries.

Rasa's connectors (see ../shared/PLATFORM.md) accept any caller, send with blocking calls or an event
loop that is closed, fail on a post without a body, and send each button as its own SMS. These
subclasses keep Rasa's names and URLs (``/webhooks/twilio/webhook``, ``/webhooks/telegram/webhook``)
and change how a message travels:

1. The webhook checks who is calling (``X-Twilio-Signature`` computed over the public webhook URL with
   Twilio's ``RequestValidator``; ``X-Telegram-Bot-Api-Secret-Token`` compared in constant time) and
   refuses anything else with 403 before reading the message.
2. It answers at once (Twilio: an empty TwiML document, so Twilio sends nothing itself; Telegram: an
   empty 200) and handles the message in a background task, one message at a time per sender, in
   arrival order.
3. The turn runs through Rasa into a collecting channel, then through the same last-resort crisis check
   as the other channels, then is rendered for the platform (``bot.channels.render``): numbered options
   on SMS (answered by number or words), inline keyboards on Telegram, compact therapist cards, no
   markdown, long texts split at sentence boundaries, and a crisis reply always whole in the first message.
4. Messages are sent over the platform's HTTP API (base URL configurable, so tests use local stand-ins)
   with retries and backoff (``bot.channels.outbound``); a failed send is logged and never loses the
   conversation, which is already in the tracker store.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import yaml
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.telegram import TelegramInput
from rasa.core.channels.twilio import TwilioInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.channels.outbound import RetryPolicy, post_with_retry
from bot.channels.render import Option, Outgoing, answer_to_payload, render_sms, render_telegram
from bot.crisis.helplines import resource_markers
from bot.rasa_addons.channels import MAX_MESSAGE_CHARS, add_health_route, ensure_safe_reply
from bot.settings import Settings, get_settings

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
TELEGRAM_CALLBACK_BYTES = 64
REMEMBERED_SENDERS = 10_000
OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


@lru_cache(maxsize=1)
def wording() -> dict[str, Any]:
    """The channels' keywords and fixed replies (messaging.yml), loaded once."""
    path = Path(__file__).resolve().parent.parent / "channels" / "messaging.yml"
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def _keyword(text: str) -> str:
    return re.sub(r"[\s.!]+$", "", text.strip()).upper()


def names_resources(text: str) -> bool:
    """Whether a reply names the crisis resources (it must then arrive whole, in the first message)."""
    return any(marker in text for marker in resource_markers(None))


class _Lru(OrderedDict[str, Any]):
    """A bounded mapping: the oldest entries go first."""

    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > REMEMBERED_SENDERS:
            self.popitem(last=False)


class _Conversations:
    """Turns of one channel: one at a time per sender, in order, run in background tasks."""

    def __init__(self, channel_name: str) -> None:
        self.channel_name = channel_name
        self.locks: dict[str, asyncio.Lock] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    def start(self, sender: str, work: Callable[[], Awaitable[Any]]) -> None:
        """Run ``work`` after every earlier message of this sender has been handled."""
        lock = self.locks.setdefault(sender, asyncio.Lock())

        async def run() -> None:
            async with lock:
                try:
                    await work()
                except Exception:
                    logger.exception("Handling a %s message failed.", self.channel_name)

        task = asyncio.get_running_loop().create_task(run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def turn(
        self, on_new_message: OnNewMessage, sender: str, text: str, metadata: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        """Run one message through Rasa and return its replies, never none, crisis resources guaranteed."""
        collector = CollectingOutputChannel()
        message = UserMessage(text, collector, sender, input_channel=self.channel_name, metadata=metadata)
        try:
            await on_new_message(message)
        except Exception:
            logger.exception("Rasa failed to handle a %s message.", self.channel_name)
        return await ensure_safe_reply(text, collector.messages, metadata, self.channel_name)


class TwilioSMSInput(TwilioInput):
    """SMS (and WhatsApp) through Twilio: signed webhooks, numbered options, carrier keywords."""

    @classmethod
    def name(cls) -> str:
        """Same name, so the same URL, as Rasa's Twilio channel."""
        return "twilio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Build the channel from credentials.yml; missing values come from the environment (.env).

        Args:
            credentials: Optional ``account_sid``, ``auth_token``, ``twilio_number``, ``webhook_url``,
                ``api_base``.

        Returns:
            The channel. Without an auth token and webhook URL it refuses every request (403).
        """
        return cls(get_settings(), credentials or {})

    def __init__(self, settings: Settings, credentials: dict[str, Any]) -> None:  # noqa: D107
        super().__init__(
            credentials.get("account_sid") or settings.twilio_account_sid,
            credentials.get("auth_token") or settings.twilio_auth_token,
            credentials.get("twilio_number") or settings.twilio_number,
            debug_mode=False,
        )
        self.webhook_url = str(credentials.get("webhook_url") or settings.twilio_webhook_url)
        self.api_base = str(credentials.get("api_base") or settings.twilio_api_base).rstrip("/")
        self.retry = RetryPolicy()
        self.conversations = _Conversations(self.name())
        self.options: _Lru = _Lru()
        self.opted_out: set[str] = set()
        if not (self.auth_token and self.webhook_url and self.account_sid and self.twilio_number):
            logger.info("Twilio channel not configured (TWILIO_* in .env): its webhook refuses every request.")

    @staticmethod
    def form(request: Request) -> dict[str, str]:
        """The posted form with empty values kept (Twilio signs every parameter, ``Body=""`` included)."""
        # Sanic 21.12's request.form drops blank values, so the form is parsed here (Twilio posts urlencoded).
        try:
            pairs = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return {}
        form: dict[str, str] = {}
        for key, value in pairs:
            form.setdefault(key, value)
        return form

    def verified(self, request: Request, params: dict[str, str]) -> bool:
        """Whether the request carries a valid Twilio signature over our public webhook URL and its form."""
        signature = request.headers.get("X-Twilio-Signature", "")
        if not (signature and self.auth_token and self.webhook_url):
            return False
        return bool(RequestValidator(self.auth_token).validate(self.webhook_url, params, signature))

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """Routes: GET / (health) and POST /webhook."""
        webhook = Blueprint(f"safe_twilio_{id(self)}", __name__)

        add_health_route(webhook)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            params = self.form(request)
            if not self.verified(request, params):
                logger.warning("Refused a Twilio webhook call without a valid signature.")
                return response.text("forbidden", status=403)
            sender = params.get("From", "")
            if sender:
                text = params.get("Body", "")
                media = int(params["NumMedia"]) if params.get("NumMedia", "").isdigit() else 0
                self.conversations.start(sender, lambda: self.handle(on_new_message, sender, text, media))
            return response.text(EMPTY_TWIML, content_type="text/xml")

        return webhook

    async def handle(self, on_new_message: OnNewMessage, sender: str, text: str, media: int) -> None:
        """One inbound SMS: keywords first, then the conversation."""
        words = wording()
        keyword = _keyword(text)
        sms = words["sms"]
        if keyword in sms["stop_words"]:
            self.opted_out.add(sender)
            await self.send(sender, [Outgoing(sms["stop_reply"].strip())], force=True)
            return
        starting = keyword in sms["start_words"] or (
            sender in self.opted_out and keyword in sms["start_words_when_opted_out"]
        )
        if starting:
            self.opted_out.discard(sender)
            await self.send(sender, [Outgoing(sms["start_reply"].strip())])
            return
        if keyword in sms["help_words"]:  # carriers expect HELP answered even after an opt-out
            await self.send(sender, [Outgoing(sms["help_reply"].strip())], force=True)
            return
        if sender in self.opted_out:
            logger.info("A message from a number that opted out was not answered (it must text START).")
            return
        if not text.strip():
            if media:
                await self.send(sender, [Outgoing(words["both"]["non_text"].strip())])
            return
        text = text.replace("¡", "@")[:MAX_MESSAGE_CHARS]  # some carriers turn @ into ¡
        chosen = answer_to_payload(text, self.options.get(sender, ()))
        replies = await self.conversations.turn(on_new_message, sender, chosen or text, None)
        outgoing = render_sms(replies, keep_whole=names_resources)
        offered = [message.options for message in outgoing if message.options]
        self.options.put(sender, offered[-1] if offered else ())
        await self.send(sender, outgoing)

    async def send(self, recipient: str, messages: list[Outgoing], *, force: bool = False) -> bool:
        """Send SMS bodies in order through Twilio's Messages API; True when all were accepted."""
        if recipient in self.opted_out and not force:
            return False
        url = f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        auth = aiohttp.BasicAuth(self.account_sid or "", self.auth_token or "")
        sender = self.twilio_number or ""
        if recipient.startswith("whatsapp:") and not sender.startswith("whatsapp:"):
            sender = f"whatsapp:{sender}"  # WhatsApp through Twilio: same number, same webhook
        delivered = True
        async with aiohttp.ClientSession() as session:
            for message in messages:
                result = await post_with_retry(
                    session,
                    url,
                    what="Twilio send",
                    policy=self.retry,
                    data={"To": recipient, "From": sender, "Body": message.text},
                    auth=auth,
                )
                delivered = delivered and result.ok
        return delivered


class TelegramBotInput(TelegramInput):
    """Telegram: secret-token webhooks, inline keyboards, no calls to Telegram at start-up."""

    @classmethod
    def name(cls) -> str:
        """Same name, so the same URL, as Rasa's Telegram channel."""
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Build the channel from credentials.yml; missing values come from the environment (.env).

        Args:
            credentials: Optional ``access_token``, ``secret_token``, ``api_base``.

        Returns:
            The channel. Without a secret token it refuses every request (403).
        """
        return cls(get_settings(), credentials or {})

    def __init__(self, settings: Settings, credentials: dict[str, Any]) -> None:  # noqa: D107
        self.access_token = str(credentials.get("access_token") or settings.telegram_token)
        self.secret_token = str(credentials.get("secret_token") or settings.telegram_secret_token)
        self.api_base = str(credentials.get("api_base") or settings.telegram_api_base).rstrip("/")
        self.verify = ""
        self.webhook_url = settings.telegram_webhook_url
        self.debug_mode = False
        self.retry = RetryPolicy()
        self.conversations = _Conversations(self.name())
        self.callbacks: _Lru = _Lru()
        if not (self.access_token and self.secret_token):
            logger.info("Telegram channel not configured (TELEGRAM_* in .env): its webhook refuses every request.")

    def verified(self, request: Request) -> bool:
        """Whether the request carries our secret token (set with `python -m bot telegram set-webhook`)."""
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        return bool(self.secret_token and given and hmac.compare_digest(given, self.secret_token))

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """Routes: GET / (health) and POST /webhook."""
        webhook = Blueprint(f"safe_telegram_{id(self)}", __name__)

        add_health_route(webhook)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.verified(request):
                logger.warning("Refused a Telegram webhook call without the secret token.")
                return response.text("forbidden", status=403)
            try:
                update = request.json
            except Exception:  # noqa: BLE001 (an unparsable body is Telegram's or a forger's problem)
                update = None
            if isinstance(update, dict):
                self.accept(on_new_message, update)
            return response.json({})

        return webhook

    def accept(self, on_new_message: OnNewMessage, update: dict[str, Any]) -> None:
        """Queue a verified update: a text message, a button press, or anything else in a message."""
        callback = update.get("callback_query")
        if isinstance(callback, dict):
            chat = ((callback.get("message") or {}).get("chat") or {}).get("id")
            if chat is not None:
                data = str(callback.get("data") or "")
                callback_id = str(callback.get("id") or "")
                sender = str(chat)
                self.conversations.start(sender, lambda: self.handle_button(on_new_message, sender, data, callback_id))
            return
        message = update.get("message")
        if not isinstance(message, dict):
            return  # edited messages, channel posts, member updates: nothing to answer
        chat = (message.get("chat") or {}).get("id")
        if chat is None:
            return
        sender = str(chat)
        text = message.get("text")
        if isinstance(text, str) and text.strip():
            typed = "/greet" if text.strip().split("@")[0] == "/start" else text[:MAX_MESSAGE_CHARS]
            self.conversations.start(sender, lambda: self.handle_text(on_new_message, sender, typed))
        else:
            note = wording()["both"]["non_text"].strip()
            self.conversations.start(sender, lambda: self.send(sender, [Outgoing(note)]))

    async def handle_text(self, on_new_message: OnNewMessage, sender: str, text: str) -> None:
        """A typed message (or a button's payload): one turn, rendered for Telegram."""
        replies = await self.conversations.turn(on_new_message, sender, text, None)
        await self.send(sender, render_telegram(replies))

    async def handle_button(self, on_new_message: OnNewMessage, sender: str, data: str, callback_id: str) -> None:
        """A pressed inline button: acknowledge it, then run its payload as the user's message."""
        if callback_id:
            await self.call("answerCallbackQuery", {"callback_query_id": callback_id})
        payload = self.callbacks.get(data, data if not data.startswith("#") else None)
        if not payload:
            await self.send(sender, [Outgoing(wording()["both"]["expired_button"].strip())])
            return
        await self.handle_text(on_new_message, sender, payload)

    def callback_data(self, option: Option) -> str:
        """A button's callback data within Telegram's 64 bytes; long payloads get a remembered token."""
        if len(option.payload.encode("utf-8")) <= TELEGRAM_CALLBACK_BYTES and not option.payload.startswith("#"):
            return option.payload
        token = "#" + hashlib.sha256(option.payload.encode("utf-8")).hexdigest()[:40]
        self.callbacks.put(token, option.payload)
        return token

    async def send(self, chat_id: str, messages: list[Outgoing]) -> bool:
        """Send messages in order with ``sendMessage``; True when all were accepted."""
        delivered = True
        async with aiohttp.ClientSession() as session:  # one connection for the whole turn
            for message in messages:
                body: dict[str, Any] = {"chat_id": chat_id, "text": message.text}
                if message.options:
                    body["reply_markup"] = {
                        "inline_keyboard": [
                            [{"text": option.title, "callback_data": self.callback_data(option)}]
                            for option in message.options
                        ]
                    }
                delivered = await self.call("sendMessage", body, session) and delivered
        return delivered

    async def call(self, method: str, body: dict[str, Any], session: aiohttp.ClientSession | None = None) -> bool:
        """Call one Bot API method with retries; True when Telegram answered ``ok``."""
        if session is None:
            async with aiohttp.ClientSession() as own:
                return await self.call(method, body, own)
        url = f"{self.api_base}/bot{self.access_token}/{method}"
        result = await post_with_retry(session, url, what=f"Telegram {method}", policy=self.retry, json=body)
        return result.ok and isinstance(result.body, dict) and bool(result.body.get("ok"))
