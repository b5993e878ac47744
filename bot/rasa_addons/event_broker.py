"""Rasa's SQL event broker, writing a turn's events in one transaction, on SQLite in WAL mode.

Rasa's `SQLEventBroker` opens an ORM session and commits once per event: about 2 ms each on this
project's machines, so 15 ms or more for a turn of seven or eight events, inside the reply. Our
tracker store hands a turn's events to `publish_many`, which writes them with one executemany and
one commit. WAL journaling lets the review service read and delete rows while Rasa writes, without
either waiting for the other. The table and its rows are Rasa's, unchanged.
"""

from __future__ import annotations

import json
from asyncio import AbstractEventLoop
from typing import Any
from urllib.parse import unquote, urlparse

from rasa.core.brokers.broker import EventBroker
from rasa.core.brokers.sql import SQLEventBroker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import event

from bot.settings import get_settings


class LocalSQLEventBroker(SQLEventBroker):
    """`SQLEventBroker` with a batch `publish_many` and WAL journaling on SQLite."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Create the broker as Rasa does, then switch SQLite connections to WAL."""
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":

            @event.listens_for(self.engine, "connect")
            def _pragmas(connection, _record):  # type: ignore[no-untyped-def]
                cursor = connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()

            self.engine.dispose()  # the connection Rasa's create_all opened had no pragmas

    def publish_many(self, bodies: list[dict[str, Any]]) -> None:
        """Write several events (Rasa's broker format) in one transaction, in order."""
        if not bodies:
            return
        table = self.SQLBrokerEvent.__table__
        rows = [{"sender_id": body.get("sender_id"), "data": json.dumps(body)} for body in bodies]
        with self.engine.begin() as connection:
            connection.execute(table.insert(), rows)


class ConfiguredEventBroker(EventBroker):
    """The broker endpoints.yml names: RabbitMQ when `RABBITMQ_URL` is set, else the local SQL table.

    Rasa builds custom brokers with `from_endpoint_config`, which here returns one of Rasa's own
    brokers, so nothing of their behaviour changes. RabbitMQ events go to a fanout exchange bound to
    the durable queue `RABBITMQ_QUEUE`, which the review service consumes. While RabbitMQ is
    unreachable, Rasa's pika broker keeps unpublished events in memory and publishes them on
    reconnect; each failed publish is logged as an error.
    """

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: EndpointConfig | None, event_loop: AbstractEventLoop | None = None
    ) -> EventBroker | None:
        """Create the configured broker.

        Args:
            broker_config: The `event_broker` section of endpoints.yml (the SQL broker's settings).
            event_loop: The server's event loop.

        Returns:
            A connected broker.
        """
        settings = get_settings()
        if settings.rabbitmq_url:
            return await pika_broker(settings.rabbitmq_url, settings.rabbitmq_queue, event_loop)
        return await LocalSQLEventBroker.from_endpoint_config(broker_config)


def pika_options(amqp_url: str, queue: str) -> dict[str, Any]:
    """Arguments of Rasa's `PikaEventBroker` for an AMQP URL (amqp://user:password@host:port/).

    The host goes in as a bare name, not the URL: Rasa logs its `host` at INFO, and the URL holds the
    password. Only the default virtual host is supported.
    """
    parsed = urlparse(amqp_url)
    if parsed.scheme not in ("amqp", "amqps") or not parsed.hostname:
        raise ValueError("RABBITMQ_URL must look like amqp://user:password@host:5672/")
    if parsed.path not in ("", "/"):
        raise ValueError("RABBITMQ_URL must use RabbitMQ's default virtual host (end in / or nothing).")
    return {
        "host": parsed.hostname,
        "username": unquote(parsed.username or "guest"),
        "password": unquote(parsed.password or "guest"),
        "port": parsed.port or (5671 if parsed.scheme == "amqps" else 5672),
        "queues": [queue],
        "should_keep_unpublished_messages": True,
        "connection_attempts": 3,
        "retry_delay_in_seconds": 1,
    }


async def pika_broker(amqp_url: str, queue: str, event_loop: AbstractEventLoop | None = None) -> EventBroker:
    """Rasa's RabbitMQ broker, connected (raises when RabbitMQ cannot be reached at start-up)."""
    from rasa.core.brokers.pika import PikaEventBroker

    broker = PikaEventBroker(**pika_options(amqp_url, queue), event_loop=event_loop)
    await broker.connect()
    return broker
