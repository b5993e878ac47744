"""The lock store, chosen by `LOCK_STORE_URL`: this process's own locks, or Redis without races.

Rasa serializes the messages of one conversation with a ticket lock. With several Rasa processes the
lock must be shared, and Rasa's `RedisLockStore` is not safe for that: it takes a ticket by reading
the lock, adding a ticket and writing it back, with no transaction, so two processes taking a ticket
at the same moment get the same number and both go ahead (../shared/PLATFORM.md measured 15 of 60
messages lost). It also polls for its turn once a second.

`ConfiguredLockStore` (named in endpoints.yml) keeps Rasa's in-memory store when `LOCK_STORE_URL` is
unset, the embedded default. With a Redis URL it uses `AtomicRedisLockStore`, which does every
read-modify-write of a lock in one Redis transaction (WATCH/MULTI, retried on conflict), lets a lock
expire in Redis with its last ticket, and polls every 20 ms. When Redis cannot be reached the
message is not refused: the store logs an error and serializes it with this process's own lock. The
load balancer routes each sender to one process, so that still keeps a sender's messages in order
while Redis is down.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockStore, RedisLockStore

from bot.settings import get_settings

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.02
KEY_PREFIX = "assistant:lock:"
# Seconds a Redis call may take before the store treats Redis as unreachable.
REDIS_TIMEOUT_SECONDS = 2.0
T = TypeVar("T")


def _redis_errors() -> tuple[type[BaseException], ...]:
    import redis

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class AtomicRedisLockStore(RedisLockStore):
    """Rasa's Redis lock store with each change of a lock made in one transaction."""

    def __init__(self, url: str, key_prefix: str = KEY_PREFIX, timeout: float = REDIS_TIMEOUT_SECONDS) -> None:
        """Connect lazily to the Redis server at `url` (redis://host:port/db).

        Args:
            url: Redis URL.
            key_prefix: Prefix of every key this store writes.
            timeout: Seconds a connection attempt or a call may take.
        """
        import redis

        LockStore.__init__(self)
        self.red = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self.key_prefix = key_prefix

    def _change(self, conversation_id: str, change: Callable[[TicketLock | None], tuple[TicketLock | None, T]]) -> T:
        """Apply `change` to the stored lock atomically; it returns the new lock (None: delete) and a result."""
        key = self.key_prefix + conversation_id

        def transaction(pipe: Any) -> T:
            raw = pipe.get(key)
            current = TicketLock.from_dict(json.loads(raw)) if raw else None
            new, result = change(current)
            pipe.multi()
            if new is None or not new.tickets:
                pipe.delete(key)
            else:
                # The key goes with its last ticket, so a process that died holding one cannot
                # block the conversation beyond the ticket's lifetime.
                expires_ms = int((max(t.expires for t in new.tickets) - time.time()) * 1000) + 1000
                pipe.set(key, new.dumps(), px=max(expires_ms, 1000))
            return result

        result: T = self.red.transaction(transaction, key, value_from_callable=True)
        return result

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Take the next ticket for a conversation; no two callers ever get the same number."""

        def take(lock: TicketLock | None) -> tuple[TicketLock, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        return self._change(conversation_id, take)

    def update_lock(self, conversation_id: str) -> None:
        """Drop expired tickets."""

        def prune(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, prune)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Remove a served ticket."""
        self.cleanup(conversation_id, ticket_number)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove a served ticket, and the lock with it when nobody else is waiting."""

        def release(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, release)

    def save_lock(self, lock: TicketLock) -> None:
        """Write a whole lock (Rasa's API; this store's own changes go through transactions)."""
        self._change(lock.conversation_id, lambda _: (lock, None))


class ConfiguredLockStore(LockStore):
    """The lock store endpoints.yml names: Redis when `LOCK_STORE_URL` is set, else in memory."""

    def __init__(self, endpoint_config: Any = None, url: str | None = None) -> None:
        """Choose the backend from `url` or the `LOCK_STORE_URL` setting.

        Args:
            endpoint_config: Rasa's endpoint configuration (its `url`, if any, wins).
            url: Redis URL; empty for this process's own locks.
        """
        super().__init__()
        configured = getattr(endpoint_config, "url", None) or url or get_settings().lock_store_url
        self.url = configured or ""
        self.local = InMemoryLockStore()
        self.redis = AtomicRedisLockStore(self.url) if self.url else None
        self._redis_down_since: float | None = None

    def _note_redis_down(self, exc: BaseException) -> None:
        if self._redis_down_since is None:
            self._redis_down_since = time.monotonic()
            logger.error(
                "The Redis lock store is unreachable (%s); serializing messages with this process's own "
                "locks until it is back.",
                type(exc).__name__,
            )

    def _note_redis_up(self) -> None:
        if self._redis_down_since is not None:
            logger.warning(
                "The Redis lock store is reachable again after %.0f s.", time.monotonic() - self._redis_down_since
            )
            self._redis_down_since = None

    def _ticket(self, conversation_id: str, lock_lifetime: float) -> tuple[LockStore, int]:
        """A ticket from Redis when it answers, else from this process's own store."""
        if self.redis is not None:
            try:
                ticket = self.redis.issue_ticket(conversation_id, lock_lifetime)
            except _redis_errors() as exc:
                self._note_redis_down(exc)
            else:
                self._note_redis_up()
                return self.redis, ticket
        return self.local, self.local.issue_ticket(conversation_id, lock_lifetime)

    @asynccontextmanager
    async def lock(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = POLL_SECONDS
    ) -> AsyncIterator[TicketLock]:
        """Hold the conversation's lock for the duration of the block, waiting for earlier tickets.

        Args:
            conversation_id: The sender id.
            lock_lifetime: Seconds after which an unreleased ticket expires.
            wait_time_in_seconds: Seconds between checks for our turn (Rasa passes 1; we poll faster).

        Yields:
            The lock, once this ticket's turn has come.
        """
        store, ticket = self._ticket(conversation_id, lock_lifetime)
        try:
            yield await store._acquire_lock(conversation_id, ticket, min(wait_time_in_seconds, POLL_SECONDS))
        finally:
            try:
                store.cleanup(conversation_id, ticket)
            except _redis_errors() as exc:  # the ticket expires in Redis on its own
                self._note_redis_down(exc)

    def _backend(self) -> LockStore:
        return self.redis if self.redis is not None and self._redis_down_since is None else self.local

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        """The stored lock of a conversation, if any."""
        return self._backend().get_lock(conversation_id)

    def delete_lock(self, conversation_id: str) -> None:
        """Delete a conversation's lock."""
        self._backend().delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        """Store a lock."""
        self._backend().save_lock(lock)
