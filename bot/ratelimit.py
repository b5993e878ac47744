"""Per-sender rate limiting for the chat channels: a token bucket for each sender.

A sender may send `burst` messages at once and `per_minute` messages a minute after that. Buckets
live in the Rasa process (the load balancer routes each sender to one process); the least recently
seen senders are forgotten beyond `max_senders`. The channels never hold back a message the crisis
detector flags, whatever the bucket says.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache


class SenderRateLimiter:
    """Token buckets keyed by sender id."""

    def __init__(
        self, burst: int, per_minute: int, max_senders: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Create the limiter.

        Args:
            burst: Messages a sender may send at once (the bucket's size).
            per_minute: Messages a minute a sender may send once the burst is spent.
            max_senders: Buckets kept; the least recently used go first.
            clock: Seconds, monotonic (tests pass their own).

        Raises:
            ValueError: A limit is not positive.
        """
        if burst < 1 or per_minute < 1:
            raise ValueError(f"Rate limits must be positive (burst {burst}, per minute {per_minute}).")
        self.burst = float(burst)
        self.rate = per_minute / 60.0
        self.max_senders = max_senders
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, sender: str) -> bool:
        """Take a token for one message of `sender`; False when the sender is over the limit."""
        now = self.clock()
        with self._lock:
            tokens, seen = self._buckets.pop(sender, (self.burst, now))
            tokens = min(self.burst, tokens + (now - seen) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[sender] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > self.max_senders:
                self._buckets.popitem(last=False)
            return allowed

    def retry_after(self, sender: str) -> float:
        """Seconds until `sender` may send again (0 when it may now)."""
        now = self.clock()
        with self._lock:
            tokens, seen = self._buckets.get(sender, (self.burst, now))
        tokens = min(self.burst, tokens + (now - seen) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate


@lru_cache(maxsize=1)
def get_rate_limiter() -> SenderRateLimiter:
    """The process's limiter, built on first use from RATE_LIMIT_BURST and RATE_LIMIT_PER_MINUTE."""
    from bot.settings import get_settings

    settings = get_settings()
    return SenderRateLimiter(settings.rate_limit_burst, settings.rate_limit_per_minute)
