"""Sending to a messaging platform's HTTP API without blocking, with retries.

Both platforms answer a burst with 429: Twilio with a ``Retry-After`` header, Telegram with
``parameters.retry_after`` in the JSON body. Neither is honoured by aiohttp-retry's
``ExponentialRetry`` (it cannot read a body when choosing the delay), so the loop is written out here:
429 and 5xx answers and connection failures are retried with exponential backoff (or the platform's
own delay when it names one, capped); any other 4xx is a request the platform will never accept and
is logged, not retried. Message text is never logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[Any]]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a send."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    timeout: float = 15.0

    def backoff(self, attempt: int) -> float:
        """Delay before the next try after ``attempt`` failed tries (1-based): 0.5, 1, 2, 4 ... seconds."""
        return float(min(self.max_delay, self.base_delay * (2 ** (attempt - 1))))


@dataclass(frozen=True)
class SendResult:
    """What happened to one send."""

    ok: bool
    status: int | None
    attempts: int
    body: Any = None


def platform_delay(headers: Mapping[str, str], body: Any) -> float | None:
    """The delay a 429 answer asks for: Telegram's ``parameters.retry_after`` or a ``Retry-After`` header.

    Args:
        headers: The response headers.
        body: The decoded JSON body, or None.

    Returns:
        Seconds to wait, or None when the answer names no delay.
    """
    if isinstance(body, dict):
        parameters = body.get("parameters")
        if isinstance(parameters, dict) and isinstance(parameters.get("retry_after"), (int, float)):
            return float(parameters["retry_after"])
    raw = headers.get("Retry-After", "")
    try:
        return float(raw) if raw.strip() else None
    except ValueError:  # an HTTP date: fall back to our own backoff
        return None


async def post_with_retry(
    session: aiohttp.ClientSession,
    url: str,
    *,
    what: str,
    policy: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
    **request: Any,
) -> SendResult:
    """POST to a platform API, retrying 429, 5xx and connection failures.

    Args:
        session: The aiohttp session to send with.
        url: The API URL.
        what: A short description for the log (never the message text).
        policy: Attempts and delays; the default when None.
        sleep: The coroutine used to wait between tries (tests pass a fake).
        **request: Passed to ``session.post`` (``data``, ``json``, ``auth`` ...).

    Returns:
        Whether it was accepted, the last status and the number of tries.
    """
    policy = policy or RetryPolicy()
    status: int | None = None
    body: Any = None
    timeout = aiohttp.ClientTimeout(total=policy.timeout)
    for attempt in range(1, policy.attempts + 1):
        delay = policy.backoff(attempt)
        try:
            async with session.post(url, timeout=timeout, **request) as response:
                status = response.status
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
                if status < 300:
                    return SendResult(True, status, attempt, body)
                if status != 429 and status < 500:
                    logger.error("%s refused with HTTP %d; not retried.", what, status)
                    return SendResult(False, status, attempt, body)
                named = platform_delay(response.headers, body) if status == 429 else None
                if named is not None:
                    delay = min(policy.max_delay, named)
                logger.warning("%s: HTTP %d on try %d of %d.", what, status, attempt, policy.attempts)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            status = None
            logger.warning("%s: %s on try %d of %d.", what, type(exc).__name__, attempt, policy.attempts)
        if attempt < policy.attempts:
            await sleep(delay)
    logger.error("%s failed after %d tries (last status %s).", what, policy.attempts, status)
    return SendResult(False, status, policy.attempts, body)
