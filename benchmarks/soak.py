"""Overload soak: `notifier run` given more work than it can do for ten minutes; its memory must stay flat.

    .venv/bin/python benchmarks/soak.py [--minutes 10]            (what `make soak` runs)

`notifier simulate --scenario fleet` serves 200 companies × 250 jobs (50,000) at 3× speed and the daemon polls
every company every 10 s with the shipped rules: more than one process can keep up with. Every 10 s this
script reads the daemon's resident set size, its queue depth and skipped polls (/metrics) and /readyz. A
daemon that cannot keep up must say so (skipped polls counted, /readyz naming the companies) and must not
grow: RSS at the end may exceed RSS after the first two minutes by at most 10 %.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from harness import RULES, Row, machine, report
from procs import (
    SERVICE_PATH,
    daemon_config,
    free_port,
    rss_bytes,
    simulator_command,
    started,
    wait_until_answering,
)

GROWTH = 1.10
COMPANIES, JOBS = 200, 250


def config(directory: Path, ips: str, listen: str) -> Path:
    rest = (f"poll: {{interval: 10s}}\nchannels: {{console: {{type: console}}}}\nhttp: {{listen: '{listen}'}}\n"
            "log: {level: warning}\n")  # fmt: skip
    return daemon_config(directory, ips, COMPANIES, str(RULES), rest)


async def sample(base: str) -> tuple[float, float, int]:
    """Queue depth, skipped polls so far, and how many companies /readyz says are skipped."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/metrics") as response:
            text = await response.text()
        async with session.get(f"{base}/readyz") as response:
            reasons = (await response.json())["reasons"]
    depth = sum(float(v) for v in re.findall(r"^notifier_queue_depth (\S+)$", text, re.M))
    skipped = sum(
        float(v) for v in re.findall(r'^notifier_polls_total\{[^}]*outcome="skipped"[^}]*\} (\S+)$', text, re.M)
    )
    return depth, skipped, sum("falling behind" in reason for reason in reasons)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))  # unwind: stop what was started
    sim_port, http_port = free_port(), free_port()
    ips, base = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{http_port}"
    samples: list[tuple[float, int, float, float, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = config(Path(tmp), ips + SERVICE_PATH, f"127.0.0.1:{http_port}")
        sim = [
            *simulator_command(sim_port, "fleet", "--companies", str(COMPANIES), "--jobs", str(JOBS)),
            "--speed",
            "3",
        ]
        with started(sim) as simulator:
            asyncio.run(wait_until_answering(f"{ips}/_sim/state", simulator))
            with started([sys.executable, "-m", "notifier", "run", "--config", str(path)]) as daemon:
                asyncio.run(wait_until_answering(f"{base}/healthz", daemon))
                begin = time.monotonic()
                while time.monotonic() - begin < args.minutes * 60:
                    time.sleep(10.0)
                    elapsed = time.monotonic() - begin
                    if daemon.poll() is not None:
                        raise RuntimeError(f"notifier run exited with status {daemon.returncode}")
                    depth, skipped, behind = asyncio.run(sample(base))
                    samples.append((elapsed, rss_bytes(daemon.pid), depth, skipped, behind))
                    print(f"  {elapsed / 60:5.1f} min  RSS {samples[-1][1] / 2**20:7.1f} MiB  queue {depth:6.0f}  "
                          f"skipped polls {skipped:6.0f}  companies reported behind {behind}", flush=True)  # fmt: skip
    settled = next(s for s in samples if s[0] >= min(120.0, samples[-1][0] / 2))
    end, peak = samples[-1], max(s[1] for s in samples)
    rows = [
        Row("RSS at the end, over RSS after 2 minutes", end[1] / settled[1], "×", target=("<=", GROWTH)),
        Row("  RSS after 2 minutes", settled[1], "B"),
        Row("  RSS at the end", end[1], "B"),
        Row("  RSS at its peak", peak, "B"),
        Row("  polls skipped, all companies", end[3], ""),
        Row("  companies /readyz reported behind, at most", max(s[4] for s in samples), ""),
    ]
    notes = [f"{COMPANIES} × {JOBS} jobs, fleet at 3× speed, polled every 10 s, {args.minutes:g} minutes ({machine()})"]
    report("Overload soak", rows, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
