"""How one company is polled, and when: its settings, and the delay before its next poll."""

from __future__ import annotations

import random
from dataclasses import dataclass

from notifier.ips.errors import IpsError, IpsFault
from notifier.runtime.backoff import Backoff


@dataclass(frozen=True, slots=True)
class PollSettings:
    """Scheduling knobs of one company's poller (derived from config)."""

    interval: float = 30.0
    jitter: float = 0.1
    max_backoff: float = 300.0
    auth_backoff: float = 900.0
    unreachable_after: int = 3
    log_retry_polls: int = 5
    details_limit: int = 20
    min_delay: float = 1.0
    log_page_size: int = 1000
    catch_up: float = 6 * 3600.0  # after a restart, announce job endings of up to this much downtime
    schedules_interval: float = 300.0  # getScheduledJobs every so often (0: schedules are not watched)
    schedule_grace: float = 600.0  # a fire time without a run this long is a missed run


def next_delay(settings: PollSettings, failures: int, error: IpsError | None, rng: random.Random) -> float:
    """Seconds until the next poll.

    Healthy: the interval ± jitter, so hundreds of companies do not poll in lock-step. Failing: full-jitter
    exponential backoff capped at max_backoff. Authentication/authorization faults cannot heal by retrying
    soon, so they wait auth_backoff (± jitter) instead of hammering the service with bad credentials.
    """
    if failures == 0:
        spread = settings.interval * settings.jitter
        return max(settings.min_delay, settings.interval + rng.uniform(-spread, spread))
    if isinstance(error, IpsFault) and error.is_auth:
        return max(settings.min_delay, settings.auth_backoff * rng.uniform(0.9, 1.1))
    failing = Backoff(base=settings.interval * 2.0, cap=settings.max_backoff, floor=settings.min_delay)
    return failing.delay(failures, rng)
