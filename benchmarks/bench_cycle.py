"""One poll cycle of 200 companies × 250 active jobs (50,000 jobs) in one process: parse, diff, evaluate.

    .venv/bin/python benchmarks/bench_cycle.py [--quick]

The pure part of a cycle, without the network: every company's getActiveJobs response (rendered by the
simulator, 30 simulated seconds apart) is parsed, diffed by its tracker and every event evaluated with the
shipped rules. The first poll is each tracker's baseline; later polls are the steady state that is timed.
The baseline figure is a bare `lxml.etree.fromstring` of the same responses. The design asks for ≤ 2 s.
`bench_http.py` measures the same cycle over HTTP against the simulator.
"""

from __future__ import annotations

import gc
import time

from harness import COMPANIES, JOBS, RULES, Poll, Row, fleet, machine, median, options, polls, report
from lxml import etree

from notifier.engine.evaluate import Engine
from notifier.engine.rules import load_rules
from notifier.ips.parse import parse_active_jobs
from notifier.models import CompanyRef
from notifier.tracking import JobTracker

TARGET = 2.0


class Cycle:
    """The trackers and the engine a daemon keeps between polls, and the time each stage of a poll took."""

    def __init__(self) -> None:
        self.engine = Engine(load_rules(RULES, None))
        self.trackers: dict[str, JobTracker] = {}
        self.events = 0

    def run(self, poll: Poll) -> tuple[float, float, float]:
        """Seconds spent parsing, diffing and evaluating one poll of every company."""
        parsing = diffing = evaluating = 0.0
        for handle, body in poll.responses.items():
            tracker = self.trackers.setdefault(handle, JobTracker(CompanyRef(handle)))
            started = time.perf_counter()
            jobs = parse_active_jobs(body)
            parsed = time.perf_counter()
            events = tracker.observe_active(jobs, poll.at)
            diffed = time.perf_counter()
            for event in events:
                self.engine.evaluate(event)
            parsing, diffing = parsing + parsed - started, diffing + diffed - parsed
            evaluating += time.perf_counter() - diffed
            self.events += len(events)
        return parsing, diffing, evaluating


def bare_lxml(poll: Poll) -> float:
    started = time.perf_counter()
    for body in poll.responses.values():
        etree.fromstring(body)
    return time.perf_counter() - started


def main() -> None:
    args = options(__doc__.splitlines()[0])
    rounds = polls(fleet(), 3 if args.quick else 5)
    gc.collect()
    cycle = Cycle()
    cycle.run(rounds[0])
    cycle.events = 0
    stages = [cycle.run(poll) for poll in rounds[1:]]
    totals = [sum(stage) for stage in stages]
    lxml_s = min(bare_lxml(poll) for poll in rounds[1:])
    wall = median(totals)
    rows = [
        Row("poll cycle, in process", wall, "s", lxml_s, "(bare lxml)", wall / lxml_s, ("<=", TARGET)),
        Row("  parse", median([s[0] for s in stages]), "s"),
        Row("  tracker diff", median([s[1] for s in stages]), "s"),
        Row("  rule evaluation", median([s[2] for s in stages]), "s"),
    ]
    notes = [
        f"{COMPANIES} companies × {JOBS} jobs, {rounds[1].jobs:,} active; median of {len(stages)} steady-state "
        f"polls, {cycle.events // len(stages):,} events each ({machine()})",
        "one core: the pure stages run one after another, as the daemon's single event loop runs them",
    ]
    report("Poll cycle (in process)", rows, notes, args.json)


if __name__ == "__main__":
    main()
