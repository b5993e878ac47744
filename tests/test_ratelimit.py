"""Per-sender rate limiting, and the channels' rule that crisis messages are never held back."""

from __future__ import annotations

import pytest

from bot.ratelimit import SenderRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_steady_rate() -> None:
    clock = Clock()
    limiter = SenderRateLimiter(burst=3, per_minute=60, clock=clock)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.retry_after("a") == pytest.approx(1.0)
    clock.now += 1.0
    assert limiter.allow("a") and not limiter.allow("a")
    clock.now += 10
    assert sum(limiter.allow("a") for _ in range(5)) == 3  # refilled up to the burst, no further


def test_senders_have_buckets_of_their_own() -> None:
    limiter = SenderRateLimiter(burst=1, per_minute=1, clock=Clock())
    assert limiter.allow("a") and not limiter.allow("a")
    assert limiter.allow("b")


def test_the_least_recently_seen_senders_are_forgotten() -> None:
    limiter = SenderRateLimiter(burst=1, per_minute=1, max_senders=2, clock=Clock())
    for sender in ("a", "b", "c"):
        assert limiter.allow(sender)
    assert limiter.allow("a")  # "a" was forgotten, so it starts with a full bucket
    assert not limiter.allow("c")


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        SenderRateLimiter(burst=0, per_minute=10)


def test_over_the_limit_only_crisis_messages_go_through(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.rasa_addons import channels

    limiter = SenderRateLimiter(burst=1, per_minute=1, clock=Clock())
    monkeypatch.setattr(channels, "get_rate_limiter", lambda: limiter)
    assert not channels.held_back("s", "hello")
    assert channels.held_back("s", "what is anxious attachment")
    assert channels.held_back("s", "/greet")
    assert not channels.held_back("s", "i want to kill myself")
    assert not channels.held_back("s", "I took all my pills")
    assert channels.error_text("rate_limited").count("988") == 1
