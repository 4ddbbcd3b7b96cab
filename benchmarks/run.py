"""Run every benchmark, each in a fresh process, and end with one summary of the design's targets.

    .venv/bin/python benchmarks/run.py [--quick] [--only NAME ...]      (what `make bench` runs)

Each benchmark prints its own table as it finishes; the summary repeats every row that has a target, with the
machine, the date and the load average the run started and ended under. Benchmarks are measurements, not
tests: a MISS is reported, never raised, and the exit status is non-zero only when a benchmark could not run.
A full run takes about five minutes on two cores; --quick about two. The overload soak is `make soak`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Cheapest first, so a broken setup shows early; the last five start servers or processes of their own.
BENCHMARKS = (
    "bench_parse",
    "bench_engine",
    "bench_memory",
    "bench_latency",
    "bench_e2e",
    "bench_cycle",
    "bench_starve",
    "bench_cluster",
    "bench_storm",
)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and smaller samples")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these (e.g. bench_parse)")
    return parser.parse_args()


def run(name: str, flags: list[str]) -> tuple[int, float]:
    started = time.monotonic()
    status = subprocess.run([sys.executable, str(HERE / f"{name}.py"), *flags], cwd=HERE.parent).returncode
    return status, time.monotonic() - started


def where() -> str:
    """The machine, once: CPU model and count, Python, date."""
    model = next(
        (line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo") if line.startswith("model name")), "?"
    )
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{os.cpu_count()} × {model}, Python {platform.python_version()}, {platform.system()}, {when}"


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min)"


def summary(results: Path, statuses: dict[str, tuple[int, float]], loads: tuple[str, str]) -> None:
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()] if results.exists() else []
    print("\nSummary of the design's targets")
    print(f"  machine: {where()}")
    print(f"  load average at the start: {loads[0]}; at the end: {loads[1]}")
    for row in (r for r in rows if r["result"]):
        figure = f"{row['ratio']:.2f}×" if row["on_ratio"] else _figure(row["value"], row["unit"])
        op, bound = row["target"]
        target = f"{'≥' if op == '>=' else '≤'} {_figure(bound, '×' if row['on_ratio'] else row['unit'])}"
        print(
            f"  {row['result']:4}  {row['what'].strip():52} {figure:>12}   target {target:>10}   ({row['benchmark']})"
        )
    missed = sum(1 for r in rows if r["result"] == "MISS")
    print(f"  {missed} of {sum(1 for r in rows if r['result'])} targets missed")
    for name, (status, seconds) in statuses.items():
        state = "ran" if status == 0 else f"FAILED (exit status {status})"
        print(f"  {name}: {state} in {seconds:.0f} s")


def _figure(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "B":
        return f"{value:,.0f} B"
    if unit == "×":
        return f"{value:.2f}×"
    return f"{value:,.0f}{unit}"


def main() -> int:
    args = arguments()
    names = [n for n in BENCHMARKS if not args.only or n in args.only]
    statuses: dict[str, tuple[int, float]] = {}
    started_load = load()
    print(f"machine: {where()}\nload average: {started_load}")
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "rows.jsonl"
        for name in names:
            statuses[name] = run(name, ["--json", str(results), *(["--quick"] if args.quick else [])])
        summary(results, statuses, (started_load, load()))
    return 1 if any(status for status, _ in statuses.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
