"""Socket.IO channel for the web widget: origin check, working session persistence, safe replies.

Rasa's ``SocketIOInput`` has three defects this subclass fixes (see ../shared/PLATFORM.md):

- it passes ``cors_allowed_origins=[]``, which turns engine.io's origin check off, so any web site
  could open a connection; here only the configured page origins may connect;
- with ``session_persistence`` it calls ``enter_room`` without awaiting it (a coroutine in
  python-socketio 5.18), so the browser never receives a reply; here the room is entered before
  the session is confirmed;
- every message names its own ``session_id``, so any client could write into any conversation;
  here the session is bound to the connection by ``session_request`` and messages use that.

A turn's replies pass through the same last-resort crisis check as the REST channel, are emitted
as ``bot_uttered`` events (``{message_id, index, text?, buttons?, custom?, image?}``) to the
session's room, and the turn ends with an acknowledgement ``{ok, replies}`` so the widget knows
when it is complete. A message the widget re-sends after a time-out carries the same
``message_id`` and is answered once: the retry gets the same replies again.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput
from sanic import Blueprint
from socketio import AsyncServer

from bot.rasa_addons.channels import (
    MAX_MESSAGE_CHARS,
    add_health_route,
    ensure_safe_reply,
    error_text,
    held_back,
)
from bot.settings import get_settings

logger = logging.getLogger(__name__)

SESSION_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
MESSAGE_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,64}")
REPLY_KEYS = ("text", "buttons", "custom", "image", "attachment")
ANSWERED_TURNS_KEPT = 2000


def _origins(configured: Any) -> list[str]:
    """Allowed origins from credentials.yml (a list or a comma-separated string) or the settings."""
    if isinstance(configured, str):
        configured = [item for item in configured.split(",")]
    if isinstance(configured, Iterable):
        listed = [str(item).strip().rstrip("/") for item in configured if str(item).strip()]
        if listed:
            return listed
    return list(get_settings().web_origins)


class SafeSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel, at the same path, with origins, persistence and replies fixed."""

    @classmethod
    def name(cls) -> str:
        """Same name as Rasa's channel, so trackers record ``socketio`` as the input channel."""
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Build the channel from its credentials.yml section.

        Args:
            credentials: Rasa's socket.io keys plus ``cors_allowed_origins`` (list or
                comma-separated string; empty means the chat page's origins from the settings).

        Returns:
            The configured channel.
        """
        credentials = credentials or {}
        channel = cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            bool(credentials.get("session_persistence", True)),
            credentials.get("socketio_path", "/socket.io"),
            credentials.get("jwt_key"),
            credentials.get("jwt_method", "HS256"),
            credentials.get("metadata_key", "metadata"),
        )
        channel.allowed_origins = _origins(credentials.get("cors_allowed_origins"))
        return channel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Same arguments as Rasa's ``SocketIOInput``."""
        super().__init__(*args, **kwargs)
        self.allowed_origins: list[str] = list(get_settings().web_origins)
        self._turns: OrderedDict[tuple[str, str], asyncio.Future[list[dict[str, Any]]]] = OrderedDict()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The socket.io server and its health route, mounted at ``socketio_path``."""
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=self.allowed_origins)
        webhook = SocketBlueprint(sio, self.socketio_path, f"safe_socketio_{id(self)}", __name__)
        self.sio = sio
        namespace = self.namespace

        add_health_route(webhook)

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict[str, Any], auth: dict[str, Any] | None = None) -> bool:
            # The origin was already checked by engine.io against allowed_origins.
            if not self.jwt_key:
                return True
            token = (auth or {}).get("token")
            from rasa.core.channels.channel import decode_bearer_token

            return bool(token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm))

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            session_id = requested if _valid(SESSION_ID_PATTERN, requested) else uuid.uuid4().hex
            async with sio.session(sid, namespace=namespace) as session:
                previous = session.get("session_id")
                session["session_id"] = session_id
            if previous and previous != session_id:
                await sio.leave_room(sid, previous, namespace=namespace)
            await sio.enter_room(sid, session_id, namespace=namespace)  # awaited: the fix
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any = None) -> dict[str, Any]:
            session = await sio.get_session(sid, namespace=namespace)
            session_id = session.get("session_id")
            if not session_id:
                return {"ok": False, "error": error_text("no_session")}
            problem = _problem(data)
            if problem:
                return {"ok": False, "error": error_text(problem)}
            text = str(data["message"])
            message_id = str(data.get("message_id") or uuid.uuid4().hex)
            if (session_id, message_id) not in self._turns and held_back(session_id, text):
                return {"ok": False, "error": error_text("rate_limited")}
            metadata = data.get(self.metadata_key)
            replies = await self._answer(
                on_new_message, session_id, message_id, text, metadata if isinstance(metadata, dict) else None
            )
            room = session_id if self.session_persistence else sid
            for index, reply in enumerate(replies):
                event = {key: reply[key] for key in REPLY_KEYS if reply.get(key) is not None}
                await sio.emit(
                    self.bot_message_evt,
                    {"message_id": message_id, "index": index, **event},
                    room=room,
                    namespace=namespace,
                )
            return {"ok": True, "replies": len(replies)}

        return webhook

    async def _answer(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        session_id: str,
        message_id: str,
        text: str,
        metadata: dict[str, Any] | None,
    ) -> list[dict[str, Any]]:
        """Run one turn through Rasa, once per message id; a retry waits for the same replies."""
        key = (session_id, message_id)
        known = self._turns.get(key)
        if known is not None:
            return list(await asyncio.shield(known))
        turn: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()
        self._turns[key] = turn
        while len(self._turns) > ANSWERED_TURNS_KEPT:
            self._turns.popitem(last=False)
        message = UserMessage(
            text,
            CollectingOutputChannel(),
            session_id,
            input_channel=self.name(),
            message_id=message_id,
            metadata=metadata,
        )
        try:
            replies = await self._run_turn(on_new_message, message)
        except BaseException:
            self._turns.pop(key, None)
            turn.cancel()
            raise
        turn.set_result(replies)
        return replies

    async def _run_turn(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage
    ) -> list[dict[str, Any]]:
        try:
            await on_new_message(message)
        except asyncio.CancelledError:
            logger.error("A socket.io message was cancelled before Rasa answered it.")
        except Exception:
            logger.exception("Rasa failed to handle a socket.io message.")
        collector: CollectingOutputChannel = message.output_channel
        return await ensure_safe_reply(message.text or "", collector.messages, message.metadata, self.name())


def _valid(pattern: re.Pattern[str], value: Any) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _problem(data: Any) -> str | None:
    """Name of the error message for a bad ``user_uttered`` payload, or None when it is fine."""
    if not isinstance(data, dict):
        return "not_json_object"
    text = data.get("message")
    if not isinstance(text, str) or not text.strip():
        return "empty_message"
    if len(text) > MAX_MESSAGE_CHARS:
        return "message_too_long"
    message_id = data.get("message_id")
    if message_id is not None and not _valid(MESSAGE_ID_PATTERN, message_id):
        return "bad_message_id"
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return "bad_metadata"
    return None
