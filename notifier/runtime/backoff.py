"""The one backoff: how long to wait before the next try after `attempt` failures in a row. Pure.

Pollers, supervised tasks, deliveries and state-store retries all wait by it, each with its own window:
`base` for the first retry, doubling with every failure, never beyond `cap`. With a random source the wait
is a uniform point in that window (full jitter, so many waiters never retry in step); without one it is the
window itself, for waits an operator reads off the log ("1 s doubling to 30 s").
"""

from __future__ import annotations

import random
from dataclasses import dataclass

MAX_EXPONENT = 60  # 2**60 seconds is far past any cap; stops float overflow at absurd attempt counts


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits growing from `base` to `cap` seconds; none shorter than `floor` (a retry never spins)."""

    base: float
    cap: float
    floor: float = 0.0

    def window(self, attempt: int) -> float:
        """The longest wait after `attempt` (1-based) failures in a row: base·2^(attempt−1), at most `cap`."""
        exponent = min(max(attempt - 1, 0), MAX_EXPONENT)
        return max(self.floor, min(self.cap, self.base * 2.0**exponent))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait after `attempt` failures: uniform in [floor, window] with `rng`, else the window itself."""
        window = self.window(attempt)
        return window if rng is None else rng.uniform(self.floor, window)


# The state store is waited out on a fixed schedule, 1 s doubling to 30 s: its failures are logged once per
# step, and the steps are what the README tells an operator to expect.
STORE_BACKOFF = Backoff(base=1.0, cap=30.0)
