"""`notifier watch`: events as flushed JSON lines on stdout (logs on stderr), replayable by `test-rule --replay`."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import pytest

from notifier.cli import main
from notifier.commands.watch import watch
from notifier.config import load_config
from notifier.runtime.clock import ManualClock
from tests.support import daemon as support
from tests.support.processes import SHIPPED_RULES, Processes
from tests.support.sim import START, Sim, StartSim

WATCH_BUDGET = 40.0  # seconds of watching at --speed 30 (20 simulated minutes) before giving up
WANTED = ("job.started", "job.progressed", "job.completed", "job.failed", "job.warning", "job.active")


def write_config(directory: Path, endpoint: str) -> Path:
    """Five companies (one known by name), polled every second; JSON logs at info."""
    companies = '[{handle: "47"}, {name: Nordwind Moden}, {handle: "203"}, {handle: "311"}, {handle: "512"}]'
    return support.write_config(
        directory, endpoint, name="watch.yaml", interval="1s", poll="jitter: 0", companies=companies, rules=None,
        log="format: json, level: info",
    )  # fmt: skip


async def simulator_endpoint(log: Path, simulator: asyncio.subprocess.Process, deadline: float) -> str:
    """The endpoint `notifier simulate --listen …:0` says it listens on (it picks a free port and logs it)."""
    loop = asyncio.get_running_loop()
    while True:
        text = await asyncio.to_thread(log.read_text, encoding="utf-8", errors="replace")
        for line in text.splitlines():
            if line.startswith("{") and json.loads(line).get("event") == "IPS simulator listening":
                return str(json.loads(line)["url"])
        assert simulator.returncode is None, text
        if loop.time() > deadline:
            raise AssertionError("the simulator did not say where it listens")
        await asyncio.sleep(0.05)


class Seen:
    """What the watched stream has shown so far, and whether it has shown everything the test waits for."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.stalls: dict[str, list[float]] = {}

    def add(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        if event["kind"] == "job.active" and event["stalled_seconds"]:
            self.stalls.setdefault(event["job"]["job_handle"], []).append(event["stalled_seconds"])

    def kinds(self) -> set[str]:
        return {e["kind"] for e in self.events}

    def failed_with_details(self) -> bool:
        return any(e["kind"] == "job.failed" and e["details"] for e in self.events)

    def warned_with_details(self) -> bool:
        return any(e["kind"] == "job.warning" and e["details"] for e in self.events)

    def growing_stall(self) -> bool:
        return any(len(s) >= 2 and s[-1] > s[0] and s == sorted(s) for s in self.stalls.values())

    def named(self) -> dict[str, str]:
        return {e["company"]["handle"]: e["company"]["name"] for e in self.events}

    def complete(self) -> bool:
        return (
            set(WANTED) <= self.kinds()
            and self.failed_with_details()
            and self.warned_with_details()
            and self.growing_stall()
            and {"203", "118"} <= set(self.named())  # the companies whose names are checked below
        )


async def test_watch_prints_every_kind_of_event_and_exits_on_sigterm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], notifier_process: Processes
) -> None:
    """Against `notifier simulate --speed 30`, watch prints started/progressed/completed/failed/warning/active
    events as one flushed JSON line each, logs only on stderr, exits 0 on SIGTERM, and its recording replays."""
    loop = asyncio.get_running_loop()
    recording = tmp_path / "events.jsonl"
    seen = Seen()
    sim_args = ("simulate", "--listen", "127.0.0.1:0", "--scenario", "demo", "--speed", "30")
    with (tmp_path / "sim.log").open("wb") as sim_log, (tmp_path / "watch.log").open("wb") as watch_log:
        simulator = await notifier_process(*sim_args, stderr=sim_log, stdout=sim_log)
        endpoint = await simulator_endpoint(tmp_path / "sim.log", simulator, loop.time() + 15)
        config = write_config(tmp_path, endpoint)
        w = await notifier_process("watch", "--config", str(config), stderr=watch_log)
        assert w.stdout is not None
        deadline = loop.time() + WATCH_BUDGET
        with recording.open("w", encoding="utf-8") as record:
            while not seen.complete():
                remaining = deadline - loop.time()
                assert remaining > 0, f"not seen within {WATCH_BUDGET:g}s: {sorted(seen.kinds())}"
                line = await asyncio.wait_for(w.stdout.readline(), remaining)
                assert line.endswith(b"\n"), "watch ended or printed a partial line"
                record.write(line.decode("utf-8"))
                seen.add(json.loads(line))
        w.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(w.stdout.read(), 15)
        assert await asyncio.wait_for(w.wait(), 15) == 0
    for text in rest.decode("utf-8").splitlines():
        seen.add(json.loads(text))  # what was printed while stopping is whole JSON lines too
    logs = (tmp_path / "watch.log").read_text(encoding="utf-8").splitlines()
    assert any(json.loads(entry).get("event") == "company name looked up" for entry in logs)
    assert all("event" in json.loads(entry) and "kind" not in json.loads(entry) for entry in logs)
    named = seen.named()
    assert named["203"] == "Sakura Interiors"
    assert named["118"] == "Nordwind Moden"

    capsys.readouterr()
    assert main(["test-rule", str(SHIPPED_RULES), "--replay", str(recording)]) == 0
    replayed = capsys.readouterr().out.splitlines()
    recorded = [json.loads(line) for line in recording.read_text(encoding="utf-8").splitlines()]
    warned = sorted(e["job"]["job_handle"] for e in recorded if e["kind"] == "job.warning")
    fired = sorted(line.split(" job=")[1].split()[0] for line in replayed if line.startswith("FIRING    job-warnings "))
    decisions = [line for line in replayed if line.startswith(("FIRING ", "RESOLVED "))]
    assert warned
    assert fired == warned
    assert replayed[-1] == f"{len(decisions)} notification(s)"


async def test_watch_in_process_stops_when_its_output_goes_away(sim: Sim, tmp_path: Path) -> None:
    """If stdout is closed (`notifier watch | head`), watch ends instead of polling on with nowhere to print."""

    class ClosedPipe:
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    config = load_config(write_config(tmp_path, sim.endpoint), environ={})
    async with asyncio.timeout(20):
        await watch(config, ClosedPipe(), clock=ManualClock(START))  # type: ignore[arg-type]


async def test_watch_prints_schedule_events_and_their_runs_schedules(start_sim: StartSim, tmp_path: Path) -> None:
    """A schedule whose trigger is already broken is printed as `schedule.failed` with the schedule's fields at
    the first poll, and active runs of a schedule carry it in `job.schedule`; the lines replay into test-rule."""
    sim = await start_sim("schedules")
    sim.world.advance(3 * 3600 + 15 * 60 + 10)  # 12:15: the feed broke at 12:00, the 12:15 publishes are running
    config = load_config(write_config(tmp_path, sim.endpoint), environ={})
    stop = asyncio.Event()

    class Lines(list[dict[str, Any]]):
        def write(self, text: str) -> int:
            self.extend(json.loads(line) for line in text.splitlines())
            kinds = {e["kind"] if e["kind"] != "job.active" or not e["schedule"] else "run" for e in self}
            if {"schedule.failed", "run"} <= kinds:
                stop.set()
            return len(text)

        def flush(self) -> None:
            pass

    lines = Lines()
    async with asyncio.timeout(20):
        await watch(config, lines, clock=ManualClock(sim.world.now()), stop=stop)  # type: ignore[arg-type]
    (failed,) = [e for e in lines if e["kind"] == "schedule.failed"]
    assert (failed["schedule"]["name"], failed["schedule"]["trigger_state"]) == ("Supplier_feed", "Error")
    assert failed["previous"] == {}
    assert failed["job"] is None
    runs = {e["schedule"]["name"] for e in lines if e["kind"] == "job.active" and e["schedule"]}
    assert runs == {"Price_refresh", "Price_refresh_EU"}
    recording = tmp_path / "schedules.jsonl"
    recording.write_text("".join(json.dumps(e) + "\n" for e in lines), encoding="utf-8")
    assert main(["test-rule", str(SHIPPED_RULES / "schedule-failed.yaml"), "--replay", str(recording)]) == 0
