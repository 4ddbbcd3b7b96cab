"""Rule loading: every mistake is a `file:line: message`, expressions are checked at load time."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifier.engine.rules import load_rules
from notifier.sources.sourcemap import SourceErrors
from tests.support.engine import CHANNELS
from tests.support.processes import SHIPPED_RULES

SHIPPED = SHIPPED_RULES


def errors_of(tmp_path: Path, text: str, name: str = "rules.yaml") -> list[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceErrors) as caught:
        load_rules(path, CHANNELS)
    return [str(e).replace(str(tmp_path) + "/", "") for e in caught.value.errors]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "- name: a\n  on: job.failed\n  notify: [{channel: consol}]\n",
            "rules.yaml:3: rule 'a': unknown channel 'consol' (did you mean 'console'?)",
        ),
        ("- name: a\n  on: job.faild\n  notify: [{channel: console}]\n", "rules.yaml:2:"),
        ("- name: a\n  on: job.failed\n  wher: x\n  notify: [{channel: console}]\n", "rules.yaml:3:"),
        (
            "- name: a\n  on: job.failed\n  where: job.stat == 1\n  notify: [{channel: console}]\n",
            "rules.yaml:3: rule 'a': unknown field 'job.stat' (did you mean 'state'?)",
        ),
        (
            "- name: a\n  on: schedule.missed\n  where: schedule.exec_schedul == 1\n  notify: [{channel: console}]\n",
            "rules.yaml:3: rule 'a': unknown field 'schedule.exec_schedul' (did you mean 'exec_schedule'?)",
        ),
        (
            "- name: a\n  on: schedule.missed\n  where: event.late_second > 1\n  notify: [{channel: console}]\n",
            "rules.yaml:3: rule 'a': unknown field 'event.late_second' (did you mean 'late_seconds'?)",
        ),
        (
            "- name: a\n  on: schedule.misssed\n  notify: [{channel: console}]\n",
            "rules.yaml:2: rule 'a': on: unknown event 'schedule.misssed' (did you mean 'schedule.missed'?)",
        ),
        (
            "- name: a\n  on: job.failed\n  where: job.state ==\n  notify: [{channel: console}]\n",
            "rules.yaml:3: rule 'a': bad expression",
        ),
        ("- name: a\n  on: job.active\n  for: 5 minutes\n  notify: [{channel: console}]\n", "rules.yaml:3:"),
        (
            "- name: a\n  on: job.failed\n  for: 5m\n  notify: [{channel: console}]\n",
            "rules.yaml:3: rule 'a': 'for' applies only to state rules",
        ),
        (
            "- name: a\n  on: job.failed\n  notify:\n    - channel: console\n"
            "      to: ['{{ job.submit_user_email }']\n",
            "rules.yaml:5: rule 'a': bad template",
        ),
        ("- name: a\n  on: [job.failed\n", "rules.yaml:"),
        (
            "- name: a\n  on: job.failed\n  where: '{{ job.progress > 50 }}'\n  notify: [{channel: console}]\n",
            "rules.yaml:3: rule 'a': 'where' is a bare expression: write it without {{ }}, "
            "e.g. where: job.progress > 50",
        ),
        (
            "- name: a\n  on: job.failed\n  notify: [{channel: pager}]\n",
            "rules.yaml:3: rule 'a': unknown channel 'pager' (channels: console, downstream, ops-email, ops-slack)",
        ),
        (
            "- name: a\n  on: job.failed\n  notify: [{channel: console, to: ops@example.com}]\n",
            "rules.yaml:3: rule 'a': notify.0.to: must be a list: write `to: [item, …]`, "
            "or `to: [item]` for a single one",
        ),
    ],
)
def test_mistakes_are_reported_with_file_and_line(tmp_path: Path, text: str, expected: str) -> None:
    """Each kind of mistake is reported once, at the line where it was made."""
    errors = errors_of(tmp_path, text)
    assert any(e.startswith(expected) for e in errors), errors


def test_duplicate_rule_names_across_files_are_errors(tmp_path: Path) -> None:
    """Two files defining the same rule name is an error pointing at the second definition."""
    (tmp_path / "a.yaml").write_text("- name: dup\n  on: job.failed\n  notify: [{channel: console}]\n")
    (tmp_path / "b.yaml").write_text("rules:\n  - name: dup\n    on: job.failed\n    notify: [{channel: console}]\n")
    with pytest.raises(SourceErrors) as caught:
        load_rules(tmp_path, CHANNELS)
    [error] = caught.value.errors
    assert error.path.endswith("b.yaml")
    assert error.line == 2
    assert "duplicate rule name 'dup'" in error.message


def test_all_errors_are_collected_not_just_the_first(tmp_path: Path) -> None:
    """A file with several broken rules reports every one of them."""
    text = (
        "- name: a\n  on: job.failed\n  notify: [{channel: nope}]\n"
        "- name: b\n  on: job.failed\n  where: job.progres > 1\n  notify: [{channel: console}]\n"
    )
    assert len(errors_of(tmp_path, text)) == 2


def test_shipped_rules_load() -> None:
    """The rules shipped in rules/ load cleanly against a config with a console channel."""
    rules = load_rules(SHIPPED, ["console"])
    assert {r.name for r in rules.rules} == {
        "stalled-progress",
        "failed-publish",
        "publish-completed",
        "job-warnings",
        "long-running-job",
        "ips-unreachable",
        "missed-schedule",
        "schedule-failed",
    }
    episodes = {r.name: (r.kind, r.closer) for r in rules.rules if r.kind == "episode"}
    assert episodes == {
        "ips-unreachable": ("episode", "company.recovered"),
        "missed-schedule": ("episode", "schedule.recovered"),
        "schedule-failed": ("episode", "schedule.recovered"),
    }


def test_schedule_fields_are_known_to_rules(tmp_path: Path) -> None:
    """What the README promises a schedule rule can read loads without complaint."""
    path = tmp_path / "rules.yaml"
    path.write_text(
        "- name: late-nightly\n  on: schedule.missed\n"
        "  where: schedule.name == 'Nightly' and event.late_seconds >= 3600 and schedule.trigger_state == 'Normal'"
        " and event.fire_time and event.reason == 'no_run' and schedule.time_zone and schedule.next_fire_time\n"
        "  notify: [{channel: console, to: ['{{ schedule.submit_user_email }}']}]\n"
        "- name: nightly-failed\n  on: job.failed\n  where: job.schedule and job.schedule.exec_schedule\n"
        "  notify: [{channel: console}]\n",
        encoding="utf-8",
    )
    assert [r.name for r in load_rules(path, CHANNELS).rules] == ["late-nightly", "nightly-failed"]


def test_episode_events_that_end_alike_can_share_a_rule(tmp_path: Path) -> None:
    """A schedule missing a run and its trigger breaking both end on schedule.recovered: one rule may watch both;
    a company's outage ends otherwise and may not join them."""
    both = tmp_path / "both.yaml"
    both.write_text("- name: a\n  on: [schedule.missed, schedule.failed]\n  notify: [{channel: console}]\n")
    assert load_rules(both, CHANNELS).rules[0].closer == "schedule.recovered"
    mixed = "- name: a\n  on: [schedule.missed, company.unreachable]\n  notify: [{channel: console}]\n"
    assert errors_of(tmp_path, mixed) == [
        "rules.yaml:2: rule 'a': on: schedule.missed, company.unreachable end on different events "
        "(company.recovered, schedule.recovered): give each a rule"
    ]


def test_episode_events_cannot_be_mixed(tmp_path: Path) -> None:
    """company.unreachable opens an episode; mixed with job events it would resolve them on recovery."""
    errors = errors_of(tmp_path, "- name: a\n  on: [job.failed, company.unreachable]\n  notify: [{channel: console}]\n")
    assert errors == [
        "rules.yaml:2: rule 'a': on: company.unreachable makes an episode rule and cannot be mixed with other events"
    ]


def test_a_duplicate_name_is_reported_even_when_the_first_definition_has_errors(tmp_path: Path) -> None:
    """Both the first definition's own error and the duplicate come out in one run."""
    (tmp_path / "a.yaml").write_text("- name: dup\n  on: job.faild\n  notify: [{channel: console}]\n")
    (tmp_path / "b.yaml").write_text("- name: dup\n  on: job.failed\n  notify: [{channel: console}]\n")
    with pytest.raises(SourceErrors) as caught:
        load_rules(tmp_path, CHANNELS)
    messages = [f"{Path(e.path).name}:{e.line}: {e.message}" for e in caught.value.errors]
    assert messages[0].startswith("a.yaml:2: rule 'dup': on: unknown event 'job.faild'")
    assert messages[1].startswith("b.yaml:1: duplicate rule name 'dup'")


def test_an_incomplete_expression_is_reported_as_written(tmp_path: Path) -> None:
    """A syntax error names what the user wrote, not characters added internally."""
    [error] = errors_of(tmp_path, "- name: a\n  on: job.failed\n  where: job.type ==\n  notify: [{channel: console}]\n")
    assert error.startswith("rules.yaml:3: rule 'a': bad expression:")
    assert "')'" not in error
