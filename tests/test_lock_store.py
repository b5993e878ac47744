"""The lock store: race-free tickets in Redis (a real server on loopback), and in memory by default."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import uuid
from collections.abc import Iterator

import pytest
from rasa.core.lock_store import InMemoryLockStore

from bot.rasa_addons.lock_store import AtomicRedisLockStore, ConfiguredLockStore

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
UNREACHABLE = "redis://127.0.0.1:1/0"


@pytest.fixture()
def redis_url() -> Iterator[str]:
    """The test Redis database; its keys under this test's prefix are removed afterwards."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    yield REDIS_URL


def _prefix() -> str:
    return f"test:{uuid.uuid4().hex[:8]}:"


def test_without_a_url_the_store_is_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import get_settings

    monkeypatch.delenv("LOCK_STORE_URL", raising=False)
    get_settings.cache_clear()
    store = ConfiguredLockStore()
    assert store.redis is None
    assert isinstance(store.local, InMemoryLockStore)
    get_settings.cache_clear()


def test_tickets_taken_at_once_by_many_processes_are_all_different(redis_url: str) -> None:
    prefix = _prefix()
    stores = [AtomicRedisLockStore(redis_url, key_prefix=prefix) for _ in range(8)]
    tickets: list[int] = []
    barrier = threading.Barrier(len(stores))

    def take(store: AtomicRedisLockStore) -> None:
        barrier.wait()
        for _ in range(10):
            number = store.issue_ticket("sender-a", 30)
            with lock:
                tickets.append(number)

    lock = threading.Lock()
    threads = [threading.Thread(target=take, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(tickets) == list(range(80))  # Rasa numbers tickets from 0
    stored = stores[0].get_lock("sender-a")
    assert stored is not None and len(stored.tickets) == 80
    stores[0].red.delete(prefix + "sender-a")


def test_the_lock_serializes_one_conversation_across_stores_in_ticket_order(redis_url: str) -> None:
    prefix = _prefix()
    first = ConfiguredLockStore(url=redis_url)
    second = ConfiguredLockStore(url=redis_url)
    for store in (first, second):
        assert store.redis is not None
        store.redis.key_prefix = prefix
    inside: list[int] = []
    order: list[int] = []
    overlaps: list[int] = []

    async def message(store: ConfiguredLockStore, n: int) -> None:
        await asyncio.sleep(n * 0.005)  # arrival order
        async with store.lock("sender-b"):
            if inside:
                overlaps.append(n)
            inside.append(n)
            order.append(n)
            await asyncio.sleep(0.03)
            inside.remove(n)

    async def main() -> None:
        await asyncio.gather(*(message(first if n % 2 else second, n) for n in range(12)))

    asyncio.run(main())
    assert overlaps == []
    assert order == list(range(12))
    assert first.redis is not None and first.redis.red.get(prefix + "sender-b") is None  # released


def test_a_lock_key_expires_with_its_last_ticket(redis_url: str) -> None:
    prefix = _prefix()
    store = AtomicRedisLockStore(redis_url, key_prefix=prefix)
    store.issue_ticket("sender-c", 5)
    ttl_ms = store.red.pttl(prefix + "sender-c")
    assert 4000 < ttl_ms <= 7000
    data = json.loads(store.red.get(prefix + "sender-c"))
    assert data["conversation_id"] == "sender-c" and len(data["tickets"]) == 1
    store.cleanup("sender-c", 0)
    assert store.red.get(prefix + "sender-c") is None


def test_redis_down_serializes_with_the_process_lock_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    store = ConfiguredLockStore(url=UNREACHABLE)
    assert store.redis is not None
    store.redis.red.connection_pool.connection_kwargs.update(socket_connect_timeout=0.2, socket_timeout=0.2)
    order: list[int] = []

    async def message(n: int) -> None:
        await asyncio.sleep(n * 0.005)
        async with store.lock("sender-d"):
            order.append(n)
            await asyncio.sleep(0.01)

    async def main() -> None:
        await asyncio.gather(*(message(n) for n in range(5)))

    with caplog.at_level(logging.ERROR, logger="bot.rasa_addons.lock_store"):
        asyncio.run(main())
    assert order == list(range(5))
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "unreachable" in errors[0].getMessage()
    assert store.local.get_lock("sender-d") is None
