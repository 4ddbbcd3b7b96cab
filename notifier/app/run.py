"""`notifier run`: the daemon until SIGTERM/SIGINT, reloading on SIGHUP (signals set the events `run` waits on,
so it can be embedded, e.g. in tests, by passing a clock and those events instead of installing handlers)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from notifier.app.daemon import Daemon
from notifier.config import Config
from notifier.runtime.clock import Clock
from notifier.runtime.memory import settle_collector


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT end the process cleanly by setting `stop`."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


def install_reload_signal(reload: asyncio.Event) -> None:
    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload.set)


async def run(
    config: Config,
    *,
    clock: Clock | None = None,
    stop: asyncio.Event | None = None,
    reload: asyncio.Event | None = None,
    started: Callable[[Daemon], None] | None = None,
) -> None:
    """The daemon until `stop` is set; `reload` re-reads config, rules and templates. `started` is called with
    the running daemon, for tests and embedding."""
    stop = stop or asyncio.Event()
    reload = reload or asyncio.Event()
    async with Daemon.open(config, clock=clock) as daemon:
        settle_collector()
        if started is not None:
            started(daemon)
        await _serve(daemon, stop, reload)


async def _serve(daemon: Daemon, stop: asyncio.Event, reload: asyncio.Event) -> None:
    """Until `stop`, pass each `reload` on to the daemon's reloader."""
    while not stop.is_set():
        waiter = asyncio.ensure_future(reload.wait())
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        stopper.cancel()
        if reload.is_set() and not stop.is_set():
            reload.clear()
            daemon.reloader.request()
