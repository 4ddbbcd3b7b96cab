"""Rule engine throughput with the shipped rules: evaluations per second (one rule × one event).

    .venv/bin/python benchmarks/bench_engine.py [--quick]

The events are those a poll cycle of the `scale` fleet produces (200 companies × 250 jobs; 40 companies with
--quick): the tracker diffs two parsed responses 30 s apart, so most events are job.active (two state rules
each) and job.progressed (no rule). The baseline calls the same compiled `where` expressions directly, through
Jinja's own TemplateExpression, on contexts built beforehand: what the expressions alone cost.
The design asks for at least 200,000 evaluations/s.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness import JOBS, RULES, Row, best_of, fleet, machine, options, polls, report, settle

from notifier.engine.context import Views
from notifier.engine.evaluate import Engine
from notifier.engine.rules import RuleSet, load_rules
from notifier.ingest.job_tracker import JobTracker
from notifier.ips.parse import Parser
from notifier.models import CompanyRef, Event

TARGET = 200_000.0


PARSER = Parser()  # as the client reads: equal job-type details shared


def poll_events(companies: int) -> list[Event]:
    """The events of the second of two polls of every company, 30 simulated seconds apart, as parsed."""
    first, second = polls(fleet(companies=companies), 2)
    trackers = {handle: JobTracker(CompanyRef(handle)) for handle in first.responses}
    for handle, body in first.responses.items():
        trackers[handle].observe_active(PARSER.active_jobs(body), first.at)
    return [
        event
        for handle, body in second.responses.items()
        for event in trackers[handle].observe_active(PARSER.active_jobs(body), second.at)
    ]


def evaluations(rules: RuleSet, events: Sequence[Event]) -> int:
    return sum(len(rules.for_kind(event.kind)) for event in events)


def engine_rate(rules: RuleSet, events: Sequence[Event], repeats: int) -> float:
    engine = Engine(rules)
    for event in events:  # the alert book as a running daemon has it: pending and firing alerts in place
        engine.evaluate(event)

    def run() -> None:
        for event in events:  # results are dropped as a daemon drops them once committed
            engine.evaluate(event)

    return evaluations(rules, events) / best_of(run, repeats)


def expressions_rate(rules: RuleSet, events: Sequence[Event], repeats: int) -> float:
    """Each rule's `where` called directly on a context built in advance: Jinja's own cost."""
    views = Views()
    calls = [
        (rule.where, views.context(event))
        for event in events
        for rule in rules.for_kind(event.kind)
        if rule.where is not None
    ]

    def run() -> None:
        for where, context in calls:
            where(**context)

    return len(calls) / best_of(run, repeats)


def main() -> None:
    args = options(__doc__.splitlines()[0])
    companies = 40 if args.quick else 200
    repeats = 2 if args.quick else 3
    rules = load_rules(RULES, None)
    events = poll_events(companies)
    active = [event for event in events if event.kind == "job.active"]
    settle()
    rows = []
    for label, sample in (("job.active events only", active), ("one poll cycle's events", events)):
        rate = engine_rate(rules, sample, repeats)
        baseline = expressions_rate(rules, sample, repeats)
        ratio = rate / baseline
        rows.append(Row(f"engine, {label}", rate, "/s", baseline, "(bare expressions)", ratio, (">=", TARGET)))
    kinds = sorted({event.kind for event in events})
    notes = [
        f"{companies} companies × {JOBS} jobs: {len(events):,} events ({', '.join(kinds)}), "
        f"{evaluations(rules, events):,} evaluations; rules: {', '.join(r.name for r in rules.rules)}",
        f"best of {repeats} passes ({machine()}); ratio: the engine's rate over the bare expressions' rate",
    ]
    report("Rule engine", rows, notes, args.json)


if __name__ == "__main__":
    main()
