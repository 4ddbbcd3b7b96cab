"""`notifier watch`: the ingest stage alone, printing each event as a JSON line and sending nothing.

What it prints is what `notifier test-rule --replay` reads back, so recordings of real traffic can be used to
try out rules offline. It keeps no state: no store is opened, so it can run beside a daemon on the same config.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TextIO

from notifier.app.wiring import company_plans, ips_session, ips_settings
from notifier.config import Config
from notifier.ingest.marks import PollDone
from notifier.ingest.pollers import EventQueue, Pollers
from notifier.ips.client import IpsClient
from notifier.models import Event
from notifier.models.codec import event_to_dict
from notifier.runtime.clock import Clock, SystemClock
from notifier.runtime.tasks import Tasks
from notifier.safety import SCRUBBER, learn


async def watch(config: Config, out: TextIO, *, clock: Clock | None = None, stop: asyncio.Event | None = None) -> None:
    """Poll every company and print each event as one JSON line, flushed; send nothing.

    Events already polled when `stop` is set are still printed. If `out` goes away (`watch | head`), watching
    ends instead of polling on with nowhere to print.
    """
    stop = stop or asyncio.Event()
    learn(config)
    queue: EventQueue = asyncio.Queue(maxsize=config.poll.queue_size)
    async with ips_session(config) as session, asyncio.TaskGroup() as group:
        client = IpsClient(session, ips_settings(config), asyncio.Semaphore(config.poll.concurrency))
        pollers = Pollers(client, queue, clock or SystemClock(), company_plans(config))
        await pollers.own(list(pollers.plans))
        pollers.start(Tasks(group))
        printer = asyncio.create_task(_print_events(queue, out))
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({printer, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            await pollers.stop()
            printer.cancel()
            await asyncio.gather(printer, stopper, return_exceptions=True)
            with contextlib.suppress(OSError, ValueError):
                while not queue.empty():
                    _print_event(queue.get_nowait(), out)
    failure = None if printer.cancelled() else printer.exception()
    if failure is not None and not isinstance(failure, OSError):
        raise failure  # a bug while printing must not pass for a clean stop


async def _print_events(queue: EventQueue, out: TextIO) -> None:
    while True:
        _print_event(await queue.get(), out)


def _print_event(event: Event | PollDone, out: TextIO) -> None:
    if isinstance(event, PollDone):
        return  # what a daemon would remember of the poll; watching keeps nothing
    out.write(json.dumps(SCRUBBER(event_to_dict(event)), ensure_ascii=False) + "\n")
    out.flush()
