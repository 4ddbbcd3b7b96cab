"""A healthy company's poll gap while another company's 100,000 jobs are parsed: off the event loop, and on it.

    .venv/bin/python benchmarks/bench_starve.py [--quick]

Two `CompanyPoller`s share one `IpsClient` against a local HTTP server answering from the `scale` scenario's
bytes: company "big" with 100,000 active jobs (30,000 with --quick), company "small" with ten, both polled
every 2 s. What is measured is the longest time between two completed polls of "small" while "big" is polled
three times (its first poll is the tracker's baseline, the next two are diffed against it). The baseline, in
the same run right before, against the same server and bytes, parses every answer and diffs every snapshot on
the event loop, as before big ones went to a worker thread. Ideally the gap is the 2 s interval. Each run takes
some 20 s at 100,000 jobs (rendering the answer another 10), so one of each is taken.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time

import aiohttp
from aiohttp import web
from harness import API_VERSION, Row, fleet, machine, options, report, settle

from notifier.ingest import poller
from notifier.ingest.poller import DIFF_IN_THREAD_ABOVE, CompanyPoller
from notifier.ingest.settings import PollSettings
from notifier.ips.client import PARSE_IN_THREAD_ABOVE, IpsClient, IpsSettings
from notifier.ips.simulator.answers import (
    render_active_jobs,
    render_company_info,
    render_job_logs,
    render_scheduled_jobs,
)
from notifier.models import Company, CompanyId, CompanyRef, Event
from notifier.runtime.clock import SystemClock

INTERVAL = 2.0
BIG_POLLS = 3


def answers(jobs: int) -> dict[bytes, bytes]:
    """getActiveJobs bodies by company handle, as the simulator renders them."""
    big, small = fleet(companies=1, jobs=jobs), fleet(companies=1, jobs=10)
    return {
        b"big": render_active_jobs(big.active_jobs(next(iter(big.companies)), "en-US"), API_VERSION),
        b"small": render_active_jobs(small.active_jobs(next(iter(small.companies)), "en-US"), API_VERSION),
    }


def server(bodies: dict[bytes, bytes]) -> web.Application:
    empty_logs, no_schedules = render_job_logs([], API_VERSION), render_scheduled_jobs([], API_VERSION)

    async def answer(request: web.Request) -> web.Response:
        body = await request.read()
        action = request.headers.get("SOAPAction", "")
        company = b"big" if b">big<" in body else b"small"
        if action == "getActiveJobs":
            payload = bodies[company]
        elif action == "getCompanyInfo":
            payload = render_company_info(Company(company.decode(), company.decode()), API_VERSION)
        elif action == "getScheduledJobs":
            payload = no_schedules
        else:
            payload = empty_logs
        return web.Response(body=payload, content_type="text/xml")

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/ips", answer)
    return app


class Done:
    """When each company's polls completed."""

    def __init__(self, done: dict[str, list[float]]) -> None:
        self.done = done

    def polled(self, company: CompanyId, outcome: str, seconds: float) -> None:
        self.done[company.label].append(time.perf_counter())


async def gap(url: str, *, on_loop: bool) -> float:
    """The longest gap between two completed polls of "small" while "big" completes BIG_POLLS polls; with
    `on_loop`, answers are parsed and snapshots diffed on the event loop, as before either went to a thread."""
    poller.DIFF_IN_THREAD_ABOVE = 2**62 if on_loop else DIFF_IN_THREAD_ABOVE
    settings = IpsSettings(
        endpoint=url,
        user="u",
        password="p",  # noqa: S106 - the local server checks none
        timeout=120.0,
        max_response_bytes=512 * 1024 * 1024,
        parse_in_thread_above=2**62 if on_loop else PARSE_IN_THREAD_ABOVE,
    )
    done: dict[str, list[float]] = {"big": [], "small": []}
    async with aiohttp.ClientSession() as session:
        client = IpsClient(session, settings)
        companies = [
            CompanyPoller(
                client, CompanyRef(handle, handle), asyncio.Queue[Event](), SystemClock(),
                PollSettings(interval=INTERVAL, jitter=0.0), rng=random.Random(0),
                observer=Done(done),
            )
            for handle in ("big", "small")
        ]  # fmt: skip
        tasks = [asyncio.create_task(p.run()) for p in companies]
        while len(done["big"]) < BIG_POLLS:  # noqa: ASYNC110 - polls are counted by a callback
            await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    small = done["small"]
    return max(later - earlier for earlier, later in itertools.pairwise(small))


async def measure(jobs: int, rounds: int) -> tuple[float, float]:
    bodies = answers(jobs)
    runner = web.AppRunner(server(bodies), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/ips"
    ours, baseline = [], []
    try:
        for _ in range(rounds):  # interleaved, so both see the same load on a shared machine
            settle()
            baseline.append(await gap(url, on_loop=True))
            settle()
            ours.append(await gap(url, on_loop=False))
    finally:
        await runner.cleanup()
    return max(ours), max(baseline)


def main() -> None:
    args = options(__doc__.splitlines()[0])
    jobs = 30_000 if args.quick else 100_000
    ours, baseline = asyncio.run(measure(jobs, 1))
    rows = [
        Row(
            f"healthy company's longest poll gap ({jobs:,}-job company)", ours, "s", baseline, "all on the loop",
            ours / baseline, ("<=", INTERVAL * 1.5),
        ),
    ]  # fmt: skip
    notes = [f"poll interval {INTERVAL:g} s; {machine()}"]
    report("bench_starve: polls of one company while another's huge answer is parsed", rows, notes, args.json)


if __name__ == "__main__":
    main()
