"""REST channel with a last-resort safety check.

The crisis policy answers crisis messages from static responses. This channel is the layer
beneath it: whatever happened inside Rasa (an exception, a failed action, a model that predicted
something else), a message the detector flags never leaves without a reply that names the crisis
resources, and no message leaves with an empty reply. It also validates the request and, unlike
Rasa's REST channel, never logs message text.
"""

from __future__ import annotations

import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.crisis.detector import get_detector
from bot.crisis.helplines import helpline_slots, resource_markers
from bot.crisis.safety import crisis_response
from bot.ratelimit import get_rate_limiter
from bot.settings import get_settings

logger = logging.getLogger(__name__)
NO_REPLY_RESPONSE = "utter_no_reply"
MAX_MESSAGE_CHARS = 5000
MAX_SENDER_CHARS = 128


@lru_cache(maxsize=1)
def _domain() -> Domain:
    return Domain.load(str(get_settings().project_root / "domain.yml"))


@lru_cache(maxsize=1)
def _errors() -> dict[str, str]:
    with Path(__file__).with_name("channel_messages.yml").open(encoding="utf-8") as handle:
        data: dict[str, str] = yaml.safe_load(handle)
    return data


def add_health_route(webhook: Blueprint) -> None:
    """GET / on a channel's blueprint answers ``{"status": "ok"}``, as Rasa's channels do."""

    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    webhook.add_route(health, "/", methods=["GET"])


def held_back(sender: str, text: str) -> bool:
    """Whether to refuse a message because its sender is over the rate limit.

    A message the crisis detector flags always goes through, whatever the limit says.
    """
    if get_rate_limiter().allow(sender):
        return False
    if text and not text.startswith("/") and get_detector().assess(text).is_crisis:
        logger.warning("A crisis message went through although its sender is over the rate limit.")
        return False
    return True


def error_text(key: str) -> str:
    """User-facing text of a channel error, from channel_messages.yml."""
    return _errors()[key]


async def render(response_name: str, slots: dict[str, Any], channel: str) -> dict[str, Any] | None:
    """Render a domain response with the given slot values, as Rasa's NLG would."""
    domain = _domain()
    tracker = DialogueStateTracker.from_events("last-resort", [], slots=domain.slots)
    known = {slot.name for slot in domain.slots}
    for name, value in slots.items():
        if name in known:
            tracker.update(SlotSet(name, value))
    generator = TemplatedNaturalLanguageGenerator(domain.responses)
    return await generator.generate(response_name, tracker, channel)


async def ensure_safe_reply(
    text: str, replies: list[dict[str, Any]], metadata: dict[str, Any] | None, channel: str
) -> list[dict[str, Any]]:
    """Add the crisis reply to a flagged message whose replies lack the resources; never return nothing.

    Args:
        text: The user's message.
        replies: What Rasa answered.
        metadata: The request's metadata (may name the user's country).
        channel: The channel's name, for channel-specific response variations.

    Returns:
        The replies, with the crisis response first when it was missing.
    """
    country = (metadata or {}).get("country")
    # The NLU component already assessed this message; assessing again here is deliberate: this
    # check must hold even when the NLU pipeline or the dialogue failed. Messages without a
    # trigger word cost microseconds.
    verdict = get_detector().assess(text) if text and not text.startswith("/") else None
    if verdict is not None and verdict.is_crisis:
        markers = resource_markers(country)
        if not any(marker in str(reply.get("text", "")) for reply in replies for marker in markers):
            logger.warning("Last-resort crisis reply added (level %s): the dialogue gave none.", verdict.level)
            slots = {
                "crisis_level": verdict.level,
                "crisis_category": verdict.category,
                **helpline_slots(country, verdict.category),
            }
            rendered = await render(crisis_response(verdict.level), slots, channel)
            if rendered:
                return [rendered, *replies]
    if not replies:
        rendered = await render(NO_REPLY_RESPONSE, {}, channel)
        return [rendered] if rendered else []
    return replies


class SafeRestInput(RestInput):
    """Rasa's REST channel at /webhooks/rest/webhook, with validation and the last-resort check."""

    @classmethod
    def name(cls) -> str:
        """Same name, so the same URL, as Rasa's REST channel."""
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The channel's routes: GET / (health) and POST /webhook."""
        webhook = Blueprint(f"safe_webhook_{type(self).__name__}", __name__)

        add_health_route(webhook)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:  # noqa: BLE001 (any unparsable body is the client's error)
                body = None
            error = _validate(body)
            if error:
                return response.json({"error": _errors()[error]}, status=400)
            sender, text = str(body["sender"]), str(body["message"])
            if held_back(sender, text):
                wait = max(1, round(get_rate_limiter().retry_after(sender)))
                return response.json(
                    {"error": _errors()["rate_limited"]}, status=429, headers={"Retry-After": str(wait)}
                )
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else None
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata))
            except CancelledError:
                logger.error("A message was cancelled before Rasa answered it.")
            except Exception:
                logger.exception("Rasa failed to handle a message.")
            replies = await ensure_safe_reply(text, collector.messages, metadata, self.name())
            return response.json(replies)

        return webhook


def _validate(body: Any) -> str | None:
    """Name of the error message for a bad request body, or None when it is fine."""
    if not isinstance(body, dict):
        return "not_json_object"
    sender, text = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
        return "bad_sender"
    if not isinstance(text, str) or not text.strip():
        return "empty_message"
    if len(text) > MAX_MESSAGE_CHARS:
        return "message_too_long"
    if "metadata" in body and body["metadata"] is not None and not isinstance(body["metadata"], dict):
        return "bad_metadata"
    return None
