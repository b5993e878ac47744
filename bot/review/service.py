"""The review service: the clinicians' app and the ingest that feeds it, in one process.

`python -m bot review serve` (started by `make run`) serves the review app on REVIEW_HOST:REVIEW_PORT
and, in the background, moves conversation events from the event broker (the SQL broker's table,
or RabbitMQ when RABBITMQ_URL is set) through the anonymizer into the review store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

    from bot.settings import Settings

logger = logging.getLogger(__name__)


def build_app(settings: Settings, *, ingest: bool = True) -> web.Application:
    """The review app, with the ingest running beside it while the app runs.

    Args:
        settings: Review store, broker and app settings.
        ingest: Run the ingest in the background (off for an app that only shows the store).

    Returns:
        The aiohttp application.
    """
    from bot.review import store
    from bot.review.app import create_app

    store.migrate(settings.review_database_url)
    app = create_app(settings.review_database_url, session_minutes=settings.review_session_minutes)
    if ingest:
        app.cleanup_ctx.append(_ingest_context(settings))
    return app


def _ingest_context(settings: Settings):  # type: ignore[no-untyped-def]
    async def context(_app: web.Application) -> AsyncIterator[None]:
        from bot.review.anonymize import get_anonymizer
        from bot.review.ingest import Ingestor, consume_rabbitmq, follow_sql_broker

        anonymizer = await asyncio.to_thread(get_anonymizer)  # loads spaCy and Presidio (seconds)
        ingestor = Ingestor(anonymizer)
        stop = asyncio.Event()

        def work() -> Coroutine[Any, Any, Any]:
            if settings.rabbitmq_url:
                return consume_rabbitmq(
                    ingestor, settings.rabbitmq_url, settings.rabbitmq_queue, settings.review_database_url, stop=stop
                )
            return follow_sql_broker(ingestor, settings.event_broker_url, settings.review_database_url, stop=stop)

        task = asyncio.create_task(_supervised(work, stop))
        yield
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=10)
        except (asyncio.TimeoutError, Exception):  # noqa: BLE001 (shutting down; the events wait in the broker)
            logger.warning("Ingest did not stop cleanly; unread events stay in the broker.")

    return context


RETRY_SECONDS = 5.0


async def _supervised(work: Callable[[], Coroutine[Any, Any, Any]], stop: asyncio.Event) -> None:
    """Run the ingest until `stop`; when it fails (the broker or the store is down), say why and retry.

    Unread events wait in the broker (RabbitMQ's queue or the SQL table), so nothing is lost meanwhile.
    """
    while not stop.is_set():
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 (any failure: log it, keep the service up, try again)
            # Only the kind of error: database errors quote the statement's parameters.
            logger.error(
                "The review ingest stopped (%s); unread events wait in the broker. Retrying in %.0f s.",
                type(exc).__name__,
                RETRY_SECONDS,
            )
            logger.debug("Review ingest failure", exc_info=True)
            try:
                await asyncio.wait_for(stop.wait(), timeout=RETRY_SECONDS)
            except asyncio.TimeoutError:
                pass


def serve(settings: Settings) -> None:
    """Run the review service until interrupted."""
    from aiohttp import web

    from bot.nlp import skip_tensorflow

    skip_tensorflow()  # the anonymizer's spaCy pipeline runs without it

    web.run_app(
        build_app(settings), host=settings.review_host, port=settings.review_port, print=None, access_log=None
    )
