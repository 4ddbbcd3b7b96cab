"""Memory per tracked job, as real RSS: 200 companies × 250 jobs (50,000) held by the daemon's job trackers.

    .venv/bin/python benchmarks/bench_memory.py [--quick]

Two polls of every company of the `fleet` scenario (after half an hour: every job type, video tasks) are
rendered here as the simulator sends them and handed to a fresh process, which parses and tracks them as a
poll would. That process reports its resident set size (VmRSS, what the machine really gives it) before the
first poll and once the second poll has replaced the first, with responses and events dropped, garbage
collected and freed memory handed back to the system (malloc_trim): the steady state. tracemalloc's count of
the same is shown beside it (Python objects only: what RSS adds is allocator overhead and fragmentation).
The design asks for at most 1.5 KB of RSS per tracked job.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import pickle
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

from harness import START, Row, machine, options, polls, report

from notifier.ips.simulator.server import make_world

TARGET = 1536.0
COMPANIES, JOBS = 200, 250


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def settled_rss() -> int:
    gc.collect()
    with contextlib.suppress(OSError):  # not glibc: RSS keeps what the allocator holds
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss()


def child(path: Path, traced: bool) -> None:
    """Parse and track the polls in `path` (our own file); print what they cost, as JSON: RSS, or with `traced`,
    tracemalloc's count (which would inflate RSS with its own bookkeeping, so it is measured in another run)."""
    from notifier.ingest.job_tracker import JobTracker
    from notifier.ips.parse import Parser
    from notifier.models import CompanyRef

    rounds = pickle.loads(path.read_bytes())  # noqa: S301 - written by the parent process a moment ago
    trackers = {handle: JobTracker(CompanyRef(handle)) for handle in rounds[0][1]}
    parser = Parser()  # as the client reads: equal job-type details shared
    parser.active_jobs(next(iter(rounds[0][1].values())))  # whatever the first parse loads lazily is not counted
    if traced:
        tracemalloc.start()
    measure = (lambda: (gc.collect(), tracemalloc.get_traced_memory()[0])[1]) if traced else settled_rss
    before = measure()
    for at, responses in rounds:
        for handle, body in responses.items():
            trackers[handle].observe_active(parser.active_jobs(body), at)
    del at, responses, body
    grown = measure() - before
    print(json.dumps({"bytes": grown, "tracked": sum(t.active_count for t in trackers.values())}))


def main() -> None:
    args = options(__doc__.splitlines()[0])
    world = make_world("fleet", companies=COMPANIES, jobs=JOBS, seed=0, speed=0.0, start=START)
    world.advance(1800)
    rounds = [(poll.at, poll.responses) for poll in polls(world, 2)]
    del world
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "polls.pickle"
        path.write_bytes(pickle.dumps(rounds))
        del rounds
        result, traced_run = (_run_child(path, mode) for mode in ("--rss", "--traced"))
    per_job, traced = result["bytes"] / result["tracked"], traced_run["bytes"] / traced_run["tracked"]
    rows = [
        Row("memory per tracked job, real RSS", per_job, "B", traced, "(tracemalloc)", per_job / traced,
            ("<=", TARGET)),
        Row("  all trackers, real RSS", result["bytes"], "B"),
    ]  # fmt: skip
    notes = [
        f"fleet scenario, {COMPANIES} companies × {JOBS} jobs after 30 simulated minutes: {result['tracked']:,} "
        f"tracked after two polls, in a fresh process ({machine()})",
        "ratio: RSS over what tracemalloc counts (Python objects alone, measured in a run of its own)",
    ]
    report("Memory", rows, notes, args.json)


def _run_child(path: Path, mode: str) -> dict[str, int]:
    out = subprocess.run([sys.executable, __file__, mode, str(path)], capture_output=True, text=True, check=False)
    if out.returncode:
        raise RuntimeError(out.stderr)
    return dict(json.loads(out.stdout))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("--rss", "--traced"):
        child(Path(sys.argv[2]), traced=sys.argv[1] == "--traced")
    else:
        main()
