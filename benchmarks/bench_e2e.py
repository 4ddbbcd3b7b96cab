"""Signed webhooks end to end through a real `notifier run`, against a bare aiohttp loop interleaved in the same run.

    .venv/bin/python benchmarks/bench_e2e.py [--quick]

Four processes on 127.0.0.1: `notifier simulate --scenario fleet` (jobs of every type, simulated time running
fast), `notifier run` with a rule that notifies a webhook channel of every job's progress, a receiver that
verifies every signature with the independent `standardwebhooks` package, and this script. The daemon polls,
evaluates, renders, commits to its outbox and sends, all at once: notifications are produced while others
are sent, faster than they can be sent, so the outbox never runs dry and the rate measured is the daemon's.

Measured windows alternate with baseline windows: the daemon and the simulator are stopped (SIGSTOP) while
this script POSTs pre-signed bodies of the same size to the same receiver with a bare aiohttp loop of the
same concurrency (the webhook channel's default, 8), then resumed. The design asks for ≥ 2,000 webhooks/s and
≥ 0.35× the bare loop.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from harness import Row, machine, median, options, report
from procs import (
    SERVICE_PATH,
    cpu_seconds,
    daemon_config,
    free_port,
    simulator_command,
    started,
    wait_until_answering,
)

from notifier.channels.webhook import decode_secret, signed_headers

SECRET = "whsec_" + base64.b64encode(b"benchmark-signing-key-0123456789").decode()
CONCURRENCY = 8  # the webhook channel's default
TARGET_RATE, TARGET_RATIO = 2000.0, 0.35
RULES = """\
- name: every-progress
  description: Every step of every job, for a consumer that mirrors progress
  on: job.progressed
  severity: info
  notify: [{channel: hook}]
"""


def config(directory: Path, ips: str, hook: str, companies: int) -> Path:
    (directory / "rules").mkdir()
    (directory / "rules" / "progress.yaml").write_text(RULES)
    channel = f"{{type: webhook, url: {hook}, secret: {SECRET}, concurrency: {CONCURRENCY}}}"
    rest = f"poll: {{interval: 1s, jitter: 0}}\nchannels: {{hook: {channel}}}\nlog: {{format: json, level: warning}}\n"
    return daemon_config(directory, ips, companies, "rules/", rest)


async def counted(base: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/count") as response:
        return int((await response.json())["accepted"])


async def bare_loop(base: str, body: bytes, seconds: float) -> float:
    """Pre-signed bodies POSTed by CONCURRENCY workers over one keep-alive session: webhooks per second."""
    keys = [decode_secret(SECRET)]
    now = int(time.time())
    prepared = []
    for _ in range(int(seconds * 12_000)):
        msg_id = f"msg_{uuid.uuid4().hex}"
        prepared.append({"content-type": "application/json", **signed_headers(keys, msg_id, now, body)})
    sent = 0
    stop = time.perf_counter() + seconds

    async def worker(session: aiohttp.ClientSession, mine: list[dict[str, str]]) -> None:
        nonlocal sent
        for headers in mine:
            if time.perf_counter() >= stop:
                return
            async with session.post(f"{base}/hook", data=body, headers=headers) as response:
                await response.read()
                sent += response.status == 204

    async with aiohttp.ClientSession() as session:
        started_at = time.perf_counter()
        await asyncio.gather(*(worker(session, prepared[i::CONCURRENCY]) for i in range(CONCURRENCY)))
        return sent / (time.perf_counter() - started_at)


def committed(state: Path) -> int:
    """Notifications the daemon has committed so far (read beside it: the file is in WAL mode)."""
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=10) as db:
        return int(db.execute("SELECT COUNT(*) FROM notifications").fetchone()[0])


def pause(pids: list[int], stop: bool) -> None:
    for pid in pids:
        os.kill(pid, signal.SIGSTOP if stop else signal.SIGCONT)


def main() -> None:
    args = options(__doc__.splitlines()[0])
    rounds, window, baseline_window = (2, 3.0, 1.5) if args.quick else (4, 5.0, 2.0)
    companies = 6
    sim_port, hook_port = free_port(), free_port()
    ips, hook_base = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{hook_port}"
    here = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        path = config(directory, ips + SERVICE_PATH, f"{hook_base}/hook", companies)
        receiver_cmd = [sys.executable, str(here / "receiver.py"), "--port", str(hook_port), "--secret", SECRET]
        sim_cmd = [*simulator_command(sim_port, "fleet", "--companies", str(companies), "--jobs", "500"),
                   "--speed", "20"]  # fmt: skip
        with started(receiver_cmd) as receiver, started(sim_cmd) as simulator:
            asyncio.run(wait_until_answering(f"{hook_base}/count", receiver))
            asyncio.run(wait_until_answering(f"{ips}/_sim/state", simulator))
            run_cmd = [sys.executable, "-m", "notifier", "run", "--config", str(path)]
            with started(run_cmd) as daemon:
                deadline = time.monotonic() + 60
                while asyncio.run(counted(hook_base)) < 2000:  # warm-up: first polls, first sends
                    if daemon.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("notifier run delivered nothing within a minute")
                    time.sleep(0.5)
                time.sleep(2.0)
                body = asyncio.run(_sample(hook_base))
                rates, baselines, cpus, made = [], [], [], []
                for _ in range(rounds):
                    before, cpu, notes, at = (asyncio.run(counted(hook_base)), cpu_seconds(daemon.pid),
                                              committed(directory / "state.db"), time.perf_counter())  # fmt: skip
                    time.sleep(window)
                    delivered = asyncio.run(counted(hook_base)) - before
                    elapsed = time.perf_counter() - at
                    rates.append(delivered / elapsed)
                    cpus.append((cpu_seconds(daemon.pid) - cpu) / max(delivered, 1))
                    made.append((committed(directory / "state.db") - notes) / elapsed)
                    pause([daemon.pid, simulator.pid], stop=True)
                    try:
                        baselines.append(asyncio.run(bare_loop(hook_base, body, baseline_window)))
                    finally:
                        pause([daemon.pid, simulator.pid], stop=False)
                    time.sleep(1.0)
                rejected = asyncio.run(_rejected(hook_base))
    rate, bare = median(rates), median(baselines)
    rows = [
        Row("signed webhooks through notifier run", rate, "/s", bare, "(bare aiohttp loop)", rate / bare,
            (">=", TARGET_RATE)),
        Row("  against the bare loop", rate / bare, "×", target=(">=", TARGET_RATIO)),
        Row("  notifications committed meanwhile", median(made), "/s"),
        Row("  daemon CPU per webhook delivered", median(cpus) * 1e6, "µs"),
    ]  # fmt: skip
    notes = [
        f"fleet scenario, {companies} companies × 500 jobs at 20× speed, polled every second; one webhook per "
        f"job.progressed; concurrency {CONCURRENCY}; median of {rounds} windows of {window:g} s, each followed by "
        f"a {baseline_window:g} s baseline window with the daemon stopped ({machine()})",
        f"every request verified with standardwebhooks; {rejected} rejected; body {len(body):,} bytes",
    ]
    report("End to end: signed webhooks through notifier run", rows, notes, args.json)


async def _sample(base: str) -> bytes:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/sample") as response:
        return await response.read()


async def _rejected(base: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/count") as response:
        return int((await response.json())["rejected"])


if __name__ == "__main__":
    main()
