"""Memory per tracked job: tracemalloc over the job trackers of 200 companies × 250 active jobs (50,000 jobs).

    .venv/bin/python benchmarks/bench_memory.py [--quick]

Responses are rendered by the simulator and parsed as a poll would parse them; what is counted is what the
trackers hold once a second poll has replaced the first (the steady state), events and responses dropped.
The baseline is the same jobs as parsed, before any tracking: the ratio is what tracking adds. The design
asks for at most 1.5 KB per tracked job. --quick measures one poll (the baseline) instead of two.
"""

from __future__ import annotations

import gc
import tracemalloc

from harness import COMPANIES, JOBS, Row, fleet, fmt, options, polls, report

from notifier.ips.parse import parse_active_jobs
from notifier.models import ActiveJob, CompanyRef
from notifier.tracking import JobTracker

TARGET = 1536.0


def traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def main() -> None:
    args = options(__doc__.splitlines()[0])
    rounds = polls(fleet(), 1 if args.quick else 2)
    tracemalloc.start()
    empty = traced()
    parsed: dict[str, list[ActiveJob]] = {h: parse_active_jobs(body) for h, body in rounds[0].responses.items()}
    count = sum(len(jobs) for jobs in parsed.values())
    per_parsed_job = (traced() - empty) / count
    trackers = {handle: JobTracker(CompanyRef(handle)) for handle in parsed}
    for handle, jobs in parsed.items():
        trackers[handle].observe_active(jobs, rounds[0].at)
    del parsed, jobs
    for poll in rounds[1:]:
        for handle, body in poll.responses.items():
            trackers[handle].observe_active(parse_active_jobs(body), poll.at)
    held = traced() - empty
    tracked = sum(t.active_count for t in trackers.values())
    peak = tracemalloc.get_traced_memory()[1] - empty
    tracemalloc.stop()
    per_job = held / tracked
    ratio = per_job / per_parsed_job
    rows = [
        Row("memory per tracked job", per_job, "B", per_parsed_job, "(parsed job)", ratio, ("<=", TARGET)),
        Row("memory, all trackers", held, "B"),
    ]
    notes = [
        f"{COMPANIES} companies × {JOBS} jobs: {tracked:,} tracked after {len(rounds)} poll(s); "
        f"peak while parsing {fmt(peak, 'B')}",
        "baseline: the ActiveJob objects as parsed; ratio: what the tracker holds per job over that",
    ]
    report("Memory", rows, notes, args.json)


if __name__ == "__main__":
    main()
