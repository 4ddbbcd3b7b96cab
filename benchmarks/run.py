"""Run every benchmark, each in a fresh process, and end with one summary of the design's targets.

    .venv/bin/python benchmarks/run.py [--quick] [--only NAME ...]      (what `make bench` runs)

Each benchmark prints its own table as it finishes; the summary repeats every row that has a target.
Benchmarks are measurements, not tests: a MISS is reported, never raised, and the exit status is non-zero
only when a benchmark could not run. A full run takes a few minutes on two cores; --quick about a minute.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Cheapest first, so a broken setup shows early; the HTTP cycle starts a simulator process of its own.
OURS = ("bench_parse", "bench_engine", "bench_memory", "bench_cycle", "bench_http")
OUTBOX = "bench_outbox"  # signed webhooks through the durable outbox; it prints its own report


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and smaller samples")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these (e.g. bench_parse)")
    return parser.parse_args()


def outbox_flags(script: Path, quick: bool) -> list[str]:
    """Its own flags: ask its --help what it takes rather than assume."""
    if not quick:
        return []
    usage = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True).stdout
    if "--quick" in usage:
        return ["--quick"]
    return ["--count", "1000"] if "--count" in usage else []


def run(name: str, flags: list[str]) -> tuple[int, float]:
    started = time.monotonic()
    status = subprocess.run([sys.executable, str(HERE / f"{name}.py"), *flags], cwd=HERE.parent).returncode
    return status, time.monotonic() - started


def summary(results: Path, statuses: dict[str, tuple[int, float]]) -> None:
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()] if results.exists() else []
    print("\nSummary of the design's targets")
    for row in (r for r in rows if r["result"]):
        figure = f"{row['ratio']:.2f}×" if row["on_ratio"] else _figure(row["value"], row["unit"])
        print(f"  {row['result']:4}  {row['what']:40} {figure:>14}   ({row['benchmark']})")
    for name, (status, seconds) in statuses.items():
        state = "ran" if status == 0 else f"FAILED (exit status {status})"
        print(f"  {name}: {state} in {seconds:.0f} s")


def _figure(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "B":
        return f"{value:,.0f} B"
    return f"{value:,.0f}{unit}"


def main() -> int:
    args = arguments()
    names = [n for n in OURS if not args.only or n in args.only]
    outbox = HERE / f"{OUTBOX}.py"
    statuses: dict[str, tuple[int, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "rows.jsonl"
        for name in names:
            statuses[name] = run(name, ["--json", str(results), *(["--quick"] if args.quick else [])])
        if outbox.exists() and (not args.only or OUTBOX in args.only):
            print(f"\n{OUTBOX}")
            statuses[OUTBOX] = run(OUTBOX, outbox_flags(outbox, args.quick))
        summary(results, statuses)
    return 1 if any(status for status, _ in statuses.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
