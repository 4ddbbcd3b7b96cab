"""`notifier watch`: the polling half of the daemon, printing each event as a JSON line and sending nothing.

What it prints is what `notifier test-rule --replay` reads back, so recordings of real traffic can be used to
try out rules offline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TextIO

from notifier.config import Config
from notifier.ingest.marks import PollDone
from notifier.ingest.pollers import Ingest, http_session
from notifier.models import Event
from notifier.models.codec import event_to_dict
from notifier.runtime.clock import Clock, SystemClock
from notifier.safety import SCRUBBER, learn


async def watch(config: Config, out: TextIO, *, clock: Clock | None = None, stop: asyncio.Event | None = None) -> None:
    """Poll every company and print each event as one JSON line, flushed; send nothing.

    Events already polled when `stop` is set are still printed. If `out` goes away (`watch | head`), watching
    ends instead of polling on with nowhere to print.
    """
    stop = stop or asyncio.Event()
    learn(config)
    async with http_session(config) as session:
        ingest = Ingest(config, clock or SystemClock(), session)
        ingest.start()
        printer = asyncio.create_task(_print_events(ingest.queue, out))
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({printer, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            await ingest.stop()
            printer.cancel()
            await asyncio.gather(printer, stopper, return_exceptions=True)
            with contextlib.suppress(OSError, ValueError):
                while not ingest.queue.empty():
                    _print_event(ingest.queue.get_nowait(), out)
    failure = None if printer.cancelled() else printer.exception()
    if failure is not None and not isinstance(failure, OSError):
        raise failure  # a bug while printing must not pass for a clean stop


async def _print_events(queue: asyncio.Queue[Event | PollDone], out: TextIO) -> None:
    while True:
        _print_event(await queue.get(), out)


def _print_event(event: Event | PollDone, out: TextIO) -> None:
    if isinstance(event, PollDone):
        return  # what a daemon would remember of the poll; watching keeps nothing
    out.write(json.dumps(SCRUBBER(event_to_dict(event)), ensure_ascii=False) + "\n")
    out.flush()
