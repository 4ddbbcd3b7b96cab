"""`notifier test-rule`: which rules fire and resolve for recorded events, in order; bad input is file:line."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from notifier.cli import main
from notifier.models import Event
from notifier.models.codec import event_to_dict
from tests.support.engine import active, at, ended
from tests.support.processes import SHIPPED_RULES

STALLED = """
- name: stalled
  on: job.active
  where: job.stalled_seconds >= 900
  send_resolved: true
  notify: [{channel: ops}]
- name: failed
  on: job.failed
  notify: [{channel: ops}]
"""


def record(tmp_path: Path, events: list[Event]) -> Path:
    path = tmp_path / "recorded.jsonl"
    path.write_text("".join(json.dumps(event_to_dict(e)) + "\n" for e in events), encoding="utf-8")
    return path


def test_replay_prints_firings_and_resolutions_in_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A stall that fires, a failure, then the stall resolving appear in that order with their messages."""
    (tmp_path / "rules.yaml").write_text(STALLED, encoding="utf-8")
    events = [active(0, 600), active(5, 900), ended("job.failed", 6, fatal_error=True), active(7, 0, progress=60)]
    code = main(["test-rule", str(tmp_path / "rules.yaml"), "--replay", str(record(tmp_path, events))])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    verdicts = [line.split()[:2] for line in out if line.startswith(("FIRING", "RESOLVED"))]
    assert verdicts == [["FIRING", "stalled"], ["FIRING", "failed"], ["RESOLVED", "stalled"]]
    assert out[-1] == "3 notification(s)"
    assert any(line.strip().startswith("[en-US]") for line in out)


def test_a_single_event_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--event takes one JSON object (as watch prints one line) and evaluates it."""
    (tmp_path / "rules.yaml").write_text(STALLED, encoding="utf-8")
    event = tmp_path / "event.json"
    event.write_text(json.dumps(event_to_dict(ended("job.failed", 1, fatal_error=True)), indent=2), encoding="utf-8")
    assert main(["test-rule", str(tmp_path / "rules.yaml"), "--event", str(event)]) == 0
    assert "FIRING    failed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"kind": "job.active"}\nnot json\n', ["recorded.jsonl:1: not an event", "recorded.jsonl:2: not JSON"]),
        ("[1, 2]\n", ["recorded.jsonl:1: not an event"]),
    ],
)
def test_bad_recordings_are_file_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: list[str]
) -> None:
    """Lines that are not JSON or not events are reported with their line number, and nothing is evaluated."""
    (tmp_path / "rules.yaml").write_text(STALLED, encoding="utf-8")
    (tmp_path / "recorded.jsonl").write_text(content, encoding="utf-8")
    assert main(["test-rule", str(tmp_path / "rules.yaml"), "--replay", str(tmp_path / "recorded.jsonl")]) == 1
    errors = [line.replace(str(tmp_path) + "/", "") for line in capsys.readouterr().err.splitlines()]
    assert [e[: len(x)] for e, x in zip(errors, expected, strict=True)] == expected


def test_rule_errors_fail_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A broken rule file is reported as file:line and the command exits non-zero."""
    (tmp_path / "rules.yaml").write_text("- name: a\n  on: job.faild\n  notify: [{channel: c}]\n", encoding="utf-8")
    recording = record(tmp_path, [active(0, 0)])
    assert main(["test-rule", str(tmp_path / "rules.yaml"), "--replay", str(recording)]) == 1
    assert f"{tmp_path / 'rules.yaml'}:2: rule 'a': on: unknown event 'job.faild'" in capsys.readouterr().err


def test_times_come_from_the_events(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`for:` is measured on the recorded event times, not on the wall clock of the replay."""
    rules = STALLED.replace("  send_resolved: true\n", "  for: 10m\n  send_resolved: true\n")
    (tmp_path / "rules.yaml").write_text(rules, encoding="utf-8")
    events = [active(0, 900), active(9, 1440), active(10, 1500)]
    main(["test-rule", str(tmp_path / "rules.yaml"), "--replay", str(record(tmp_path, events))])
    firing = [line for line in capsys.readouterr().out.splitlines() if line.startswith("FIRING")]
    assert len(firing) == 1
    assert f"at={(at(0) + timedelta(minutes=10)).isoformat()}" in firing[0]


@pytest.mark.parametrize(
    "event",
    [
        {"kind": "job.failed", "at": "2026-01-01T00:00:00Z", "company": "47"},
        {"kind": "job.failed", "at": "2026-01-01T00:00:00Z", "company": {"handle": "47"}, "job": "x"},
    ],
)
def test_events_of_the_wrong_shape_are_file_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], event: dict[str, object]
) -> None:
    """A company or job that is not an object is reported at its line, not as a traceback."""
    (tmp_path / "rules.yaml").write_text(STALLED, encoding="utf-8")
    (tmp_path / "recorded.jsonl").write_text(json.dumps(event) + "\n", encoding="utf-8")
    assert main(["test-rule", str(tmp_path / "rules.yaml"), "--replay", str(tmp_path / "recorded.jsonl")]) == 1
    assert "recorded.jsonl:1: not an event" in capsys.readouterr().err


def test_hand_written_times_without_a_zone_are_utc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An event written by hand with a naive time is read as UTC, as the IPS parser reads such times."""
    (tmp_path / "rules.yaml").write_text(STALLED, encoding="utf-8")
    event = event_to_dict(active(0, 900))
    event["at"] = "2026-11-23T09:00:00"
    assert event["job"] is not None
    event["job"]["start_date"] = "2026-11-23T08:00:00"
    (tmp_path / "recorded.jsonl").write_text(json.dumps(event) + "\n", encoding="utf-8")
    assert main(["test-rule", str(tmp_path / "rules.yaml"), "--replay", str(tmp_path / "recorded.jsonl")]) == 0
    assert "FIRING    stalled" in capsys.readouterr().out


def test_a_hand_written_schedule_event_fires_the_shipped_rule_in_the_schedule_s_locale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A schedule.missed written by hand (naive times, only what matters) fires missed-schedule, names the
    schedule, and renders in the schedule's locale with the fire time in the schedule's zone."""
    schedule = {"job_handle": "203||Nightly", "name": "Nightly", "original_name": "夜間公開", "locale": "ja-JP",
                "exec_schedule": "0 0 2 * * ?", "time_zone": "Asia/Tokyo"}  # fmt: skip
    event = tmp_path / "missed.json"
    fields = {"fire_time": "2026-03-01T17:00:00", "late_seconds": 900, "reason": "no_run"}
    company = {"handle": "203", "locale": "en-US"}
    missed = {"kind": "schedule.missed", "at": "2026-03-02T02:15:00", "company": company, "schedule": schedule}
    event.write_text(json.dumps(missed | fields), encoding="utf-8")
    assert main(["test-rule", str(SHIPPED_RULES), "--event", str(event)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(
        "FIRING    missed-schedule  company=203 schedule=203||Nightly  at=2026-03-02T02:15:00+00:00"
    )
    assert out[1] == "  [ja-JP] スケジュールジョブ「夜間公開」の 2026/03/02 2:00 JST の実行が開始されていません"
    assert "    cron 式：0 0 2 * * ?" in out


def test_events_of_the_wrong_shape_are_refused_under_python_o(tmp_path: Path) -> None:
    """Validation does not rely on `assert`: under `python -O` a wrong shape is still a file:line error."""
    replay = tmp_path / "events.jsonl"
    bad = {"kind": "job.failed", "at": "2026-03-02T09:00:00Z", "company": "47"}
    replay.write_text(json.dumps(bad) + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-O", "-m", "notifier", "test-rule", str(SHIPPED_RULES), "--replay", str(replay)],
        capture_output=True,
        text=True,
        timeout=50,
        cwd=SHIPPED_RULES.parent,
    )
    assert done.returncode == 1
    assert f"{replay}:1: not an event (ValueError: expected an object for CompanyRef, got str)" in done.stderr


GROUPED = """
- name: failed
  on: job.failed
  notify:
    - channel: ops
      group_by: [company.handle]
      group_wait: 30s
      group_interval: 5m
"""


def test_replay_shows_the_digests_of_grouped_targets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Three failures within 30 s are one digest when the group's wait ends; one ten minutes later waits anew."""
    (tmp_path / "rules.yaml").write_text(GROUPED, encoding="utf-8")
    failures = [ended("job.failed", minute, fatal_error=True) for minute in (0, 0.1, 0.2, 10)]
    failures = [replace(e, job=replace(e.job, job_handle=f"47||J{i}")) for i, e in enumerate(failures) if e.job]
    code = main(["test-rule", str(tmp_path / "rules.yaml"), "--replay", str(record(tmp_path, failures))])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    lines = [line.split("  ")[0:4] for line in out if line.startswith(("FIRING", "DIGEST"))]
    assert [line[0].strip() for line in lines] == ["FIRING", "FIRING", "FIRING", "DIGEST", "FIRING", "DIGEST"]
    digests = [line for line in out if line.startswith("DIGEST")]
    assert "company.handle=47" in digests[0]
    assert f"at={(at(0) + timedelta(seconds=30)).isoformat()}" in digests[0]
    assert "alerts=3" in digests[0]
    assert f"at={(at(10) + timedelta(seconds=30)).isoformat()}" in digests[1]
    assert any("→ ops (grouped)" in line for line in out)
