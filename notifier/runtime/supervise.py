"""Long-lived tasks are supervised: a crash is logged and the task restarted with backoff, never fatal."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import structlog

from notifier.runtime.backoff import Backoff

log = structlog.get_logger(__name__)


async def supervise(
    name: str,
    factory: Callable[[], Awaitable[None]],
    *,
    max_backoff: float = 60.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
) -> None:
    """Run `factory()` until cancelled, restarting it after any unexpected exception.

    The restart delay grows with consecutive crashes (full jitter) so a task that crashes at once does not
    spin, and a task that ran for a while before crashing starts again quickly.
    """
    rng = rng or random.Random()
    restarts = Backoff(base=2.0, cap=max_backoff, floor=0.5)
    crashes = 0
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            await factory()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            crashes = 1 if loop.time() - started > max_backoff else crashes + 1
            delay = restarts.delay(crashes, rng)
            log.exception("task crashed; restarting", task=name, crashes=crashes, restart_in=round(delay, 2))
            await sleep(delay)
