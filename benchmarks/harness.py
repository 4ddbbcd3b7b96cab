"""What every benchmark shares: timing, the simulated fleet it measures against, and the results table.

A benchmark measures something of ours and a baseline in the same run, so the ratio means something on any
machine; the design's targets are checked against the measured figure and reported as PASS or MISS. These
scripts are not tests: they are never collected by pytest and never fail a build.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from notifier.ips.simulator.answers import render_active_jobs
from notifier.ips.simulator.server import make_world
from notifier.ips.simulator.world import World

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # simulated time is frozen and seeded: every run sees the same jobs
API_VERSION = "2014-04-03"
COMPANIES, JOBS = 200, 250  # the design's fleet: 50,000 active jobs in one process


@dataclass(frozen=True)
class Row:
    """One line of a results table.

    `target` is (`>=` or `<=`, bound), checked against the value, or against the ratio when `on_ratio`;
    a row without a target is informative (a component of another figure, say).
    """

    what: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    ratio: float | None = None
    target: tuple[str, float] | None = None
    on_ratio: bool = False

    @property
    def result(self) -> str:
        if self.target is None:
            return ""
        op, bound = self.target
        figure = self.ratio if self.on_ratio else self.value
        if figure is None:
            return "MISS"
        return "PASS" if (figure >= bound if op == ">=" else figure <= bound) else "MISS"


def options(description: str) -> argparse.Namespace:
    """The flags every benchmark script takes. SIGTERM now unwinds like Ctrl-C, so the processes a benchmark
    started (simulator, daemon, receiver) are stopped too rather than left running."""
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions: a rougher figure, sooner")
    parser.add_argument("--json", type=Path, help="also append the rows to this file as JSON lines")
    return parser.parse_args()


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """Fastest of `repeats` timed calls, in seconds: the figure least disturbed by other work on the machine."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def best_of_each(fns: Sequence[Callable[[], object]], repeats: int) -> list[float]:
    """`best_of` for several functions run in turn, so that all see the same load on a shared machine."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            started = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - started)
    return best


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def fleet(companies: int = COMPANIES, jobs: int = JOBS) -> World:
    """The simulator's `scale` scenario with frozen time: `companies` × `jobs` active jobs, always the same."""
    return make_world("scale", companies=companies, jobs=jobs, seed=0, speed=0.0, start=START)


@dataclass(frozen=True)
class Poll:
    """What one poll of every company would receive: getActiveJobs responses, by company handle."""

    at: datetime
    responses: dict[str, bytes]

    @property
    def jobs(self) -> int:
        return sum(body.count(b"<ns1:jobHandle>") for body in self.responses.values())


def polls(world: World, count: int, every: float = 30.0) -> list[Poll]:
    """`count` successive polls `every` simulated seconds apart, rendered as the simulator would send them."""
    rounds = []
    for _ in range(count):
        now = world.now()
        bodies = {h: render_active_jobs(world.active_jobs(h, "en-US"), API_VERSION) for h in sorted(world.companies)}
        rounds.append(Poll(now, bodies))
        world.advance(every)
    return rounds


def settle() -> None:
    """Collect garbage left by setup, so it is not charged to what is measured next."""
    gc.collect()


def report(title: str, rows: Sequence[Row], notes: Sequence[str] = (), json_path: Path | None = None) -> None:
    """Print the table (what, value, baseline, ratio, target, result) and optionally record it."""
    print(f"\n{title}")
    header = ("measurement", "value", "baseline", "ratio", "target", "result")
    cells = [header, *[_cells(row) for row in rows]]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    for i, line in enumerate(cells):
        left = (0, 2)  # names and baselines read better aligned left, figures right
        padded = (c.ljust(w) if j in left else c.rjust(w) for j, (c, w) in enumerate(zip(line, widths, strict=True)))
        print("  " + "  ".join(padded))
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))
    for note in notes:
        print(f"  {note}")
    if json_path is not None:
        with json_path.open("a", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps({"benchmark": title, **asdict(row), "result": row.result}) + "\n")


def _cells(row: Row) -> tuple[str, str, str, str, str, str]:
    baseline = f"{fmt(row.baseline, row.unit)} {row.baseline_label}".strip() if row.baseline is not None else "—"
    ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "—"
    target = "—"
    if row.target is not None:
        op, bound = row.target
        target = f"{'≥' if op == '>=' else '≤'} {fmt(bound, '×' if row.on_ratio else row.unit)}"
    return row.what, fmt(row.value, row.unit), baseline, ratio, target, row.result or "—"


def fmt(value: float, unit: str) -> str:
    """A figure with its unit, at a precision that suits its size."""
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "B":
        return f"{value:,.0f} B" if value < 10_000 else f"{value / 1024:,.0f} KiB"
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "×":
        return f"{value:g}×" if float(value).is_integer() else f"{value:.2f}×"
    return f"{value:,.2f} {unit}".strip()


def machine() -> str:
    """One line about where the figures come from."""
    cpus = os.cpu_count() or 0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{cpus} CPUs, load average {load:.2f}"
