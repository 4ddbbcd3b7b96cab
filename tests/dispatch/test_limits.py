"""Token bucket and circuit breaker, driven by a manual clock: no test here sleeps for real."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from notifier.dispatch.limits import CircuitBreaker, RateLimiter
from notifier.runtime.clock import ManualClock
from tests.support.dispatch import AdvancingSleep


def test_burst_is_free_then_paced() -> None:
    """A full bucket serves `burst` callers at once; the next waits 1/rate per token."""
    limiter = RateLimiter(rate=2.0, burst=3, clock=ManualClock())
    assert [limiter.reserve() for _ in range(5)] == [0.0, 0.0, 0.0, 0.5, 1.0]


def test_tokens_refill_with_time() -> None:
    """Tokens come back at `rate` per second, never beyond `burst`."""
    clock = ManualClock()
    limiter = RateLimiter(rate=1.0, burst=2, clock=clock)
    limiter.reserve()
    limiter.reserve()
    clock.advance(100)
    assert [limiter.reserve() for _ in range(3)] == [0.0, 0.0, 1.0]


async def test_acquire_sleeps_off_the_deficit() -> None:
    """`acquire` sleeps exactly the wait the bucket computed, through the injected sleep."""
    clock = ManualClock()
    sleep = AdvancingSleep(clock)
    limiter = RateLimiter(rate=4.0, burst=1, clock=clock, sleep=sleep)
    for _ in range(4):
        await limiter.acquire()
    assert sleep.calls == [0.25, 0.25, 0.25]


async def test_concurrent_callers_are_spread_in_arrival_order() -> None:
    """Callers that arrive together are scheduled 1/rate apart, in order, without a lock."""
    clock = ManualClock()
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    limiter = RateLimiter(rate=10.0, burst=1, clock=clock, sleep=record)
    await asyncio.gather(*(limiter.acquire() for _ in range(4)))
    assert waits == pytest.approx([0.1, 0.2, 0.3])


def test_clock_stepping_back_mints_no_tokens() -> None:
    """A wall clock moved backwards neither refills the bucket nor drains it."""
    clock = ManualClock()
    limiter = RateLimiter(rate=1.0, burst=1, clock=clock)
    limiter.reserve()
    clock.advance(-3600)
    assert limiter.reserve() == 1.0


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_limiter_rejects_nonsense(rate: float, burst: int) -> None:
    """A zero or negative rate, or an empty bucket, is a programming error."""
    with pytest.raises(ValueError, match="rate"):
        RateLimiter(rate=rate, burst=burst, clock=ManualClock())


def test_breaker_opens_after_threshold_consecutive_failures() -> None:
    """Fewer than `threshold` failures in a row keep it closed; the threshold-th opens it."""
    clock = ManualClock()
    breaker = CircuitBreaker(threshold=3, cooldown=60, clock=clock)
    breaker.record(False)
    breaker.record(False)
    assert breaker.allows()
    breaker.record(False)
    assert breaker.state() == "open"
    assert not breaker.allows()


def test_success_resets_the_failure_count() -> None:
    """Failures must be consecutive: one success in between starts the count again."""
    breaker = CircuitBreaker(threshold=2, cooldown=60, clock=ManualClock())
    breaker.record(False)
    breaker.record(True)
    breaker.record(False)
    assert breaker.state() == "closed"
    assert breaker.failures == 1


def test_half_open_admits_one_trial_after_cooldown() -> None:
    """After the cooldown exactly one trial is let through until its result is recorded."""
    clock = ManualClock()
    breaker = CircuitBreaker(threshold=1, cooldown=30, clock=clock)
    breaker.record(False)
    clock.advance(29.9)
    assert not breaker.allows()
    assert breaker.retry_in() == pytest.approx(0.1)
    clock.advance(0.1)
    assert breaker.state() == "half_open"
    assert breaker.allows()
    assert not breaker.allows()


def test_successful_trial_closes() -> None:
    """A trial that succeeds closes the breaker for everyone."""
    clock = ManualClock()
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=clock)
    breaker.record(False)
    clock.advance(10)
    assert breaker.allows()
    breaker.record(True)
    assert breaker.state() == "closed"
    assert breaker.allows()
    assert breaker.allows()


def test_failed_trial_reopens_for_a_full_cooldown() -> None:
    """A trial that fails re-opens the breaker, counting the cooldown from the failure."""
    clock = ManualClock()
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=clock)
    breaker.record(False)
    clock.advance(10)
    assert breaker.allows()
    breaker.record(False)
    assert breaker.state() == "open"
    assert breaker.retry_in() == 10


def test_explicit_now_overrides_the_clock() -> None:
    """Callers that already read the clock can pass `now` and get consistent answers."""
    clock = ManualClock()
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=clock)
    breaker.record(False, clock.now())
    assert not breaker.allows(clock.now() + timedelta(seconds=5))
    assert breaker.allows(clock.now() + timedelta(seconds=10))


def test_retry_in_is_the_remaining_cooldown() -> None:
    """How long until an open breaker admits a trial (what the dispatcher waits for): 0 when closed."""
    clock = ManualClock()
    breaker = CircuitBreaker(threshold=1, cooldown=20, clock=clock)
    assert breaker.retry_in() == 0.0
    breaker.record(False)
    clock.advance(5)
    assert breaker.retry_in() == 15.0
    clock.advance(15)
    assert (breaker.retry_in(), breaker.allows()) == (0.0, True)


def test_abandoned_trial_lets_the_next_one_through() -> None:
    """A half-open trial that ended without an outcome (cancelled) frees the trial slot and counts nothing."""
    clock = ManualClock()
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=clock)
    breaker.record(False)
    clock.advance(10)
    assert breaker.allows()
    assert breaker.trial_pending
    breaker.abandon()
    assert (breaker.trial_pending, breaker.failures) == (False, 1)
    assert breaker.allows()
