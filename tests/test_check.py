"""`notifier check`: every problem of a config as `file:line: message` and a non-zero exit; OK otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import typing
from pathlib import Path
from typing import Any

import pytest

from notifier import i18n
from notifier.cli import main
from notifier.config import load_config
from notifier.i18n import LOCALES_DIR
from notifier.sources.sourcemap import parse_yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "notifier.yaml"
EXAMPLE_ENV = {
    "IPS_USER": "ops@example.com",
    "IPS_PASSWORD": "ips-password",
    "SLACK_BOT_TOKEN": "xoxb-123-456",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/XXXX",
    "SMTP_USER": "notifier",
    "SMTP_PASSWORD": "smtp-password",
    "WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "TEAMS_WEBHOOK_URL": "https://prod-00.westus.logic.azure.com/workflows/0a1b/triggers/manual/paths/invoke?sig=X",
    "PAGERDUTY_ROUTING_KEY": "R0UT1NGK3Yf0rT3st5abcdef01234567",
}
MISSING_VAR = "DMC_CHECK_TEST_UNSET_USER"
THREE_PROBLEMS = f"""\
ips:
  endpoint: https://s7sps1apissl.scene7.com/scene7/services/IpsApiService
  user: ${{{MISSING_VAR}}}
  password: not-shown-anywhere
  timout: 30s
poll:
  interval: 30 seconds
companies:
  - handle: "47"
"""
VALID = """\
ips:
  endpoint: https://s7sps1apissl.scene7.com/scene7/services/IpsApiService
  user: ops@example.com
  password: not-shown-anywhere
companies:
  - handle: "47"
rules: rules/
channels:
  console: {type: console}
"""
RULE = """\
- name: failed-publish
  on: job.failed
  severity: critical
  notify: [{channel: console}]
"""


def expected_three(path: Path) -> list[str]:
    return [
        f"{path}:3: environment variable {MISSING_VAR} is not set",
        f"{path}:5: ips: unknown key 'timout' (did you mean 'timeout'?)",
        f"{path}:7: poll.interval: not a duration (use e.g. 500ms, 30s, 15m, 2h, 1h30m, 1d)",
    ]


def write(directory: Path, text: str, rule: str | None = RULE) -> Path:
    path = directory / "notifier.yaml"
    path.write_text(text, encoding="utf-8")
    if rule is not None:
        (directory / "rules").mkdir(exist_ok=True)
        (directory / "rules" / "main.yaml").write_text(rule, encoding="utf-8")
    return path


def test_three_problems_are_three_located_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown key, a bad duration and an unset variable print exactly three file:line errors; exit 1."""
    monkeypatch.delenv(MISSING_VAR, raising=False)
    path = write(tmp_path, THREE_PROBLEMS)
    assert main(["check", "--config", str(path)]) == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == expected_three(path)
    assert out == ""


def test_three_problems_in_a_real_process(tmp_path: Path) -> None:
    """The same config checked by `python -m notifier check` in a subprocess prints the same three errors."""
    path = write(tmp_path, THREE_PROBLEMS)
    env = {k: v for k, v in os.environ.items() if k != MISSING_VAR}
    done = subprocess.run(
        [sys.executable, "-m", "notifier", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=50,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == expected_three(path)
    assert "not-shown-anywhere" not in done.stderr + done.stdout


def test_valid_config_prints_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A valid config with valid rules prints `<file>: OK` on stdout and exits 0."""
    path = write(tmp_path, VALID)
    assert main(["check", "--config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{path}: OK\n"
    assert err == ""


def test_rule_problems_are_reported_with_their_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rule notifying a channel the config does not define is an error in the rule file, at its line."""
    path = write(tmp_path, VALID, rule=RULE.replace("channel: console", "channel: ops-slack"))
    assert main(["check", "--config", str(path)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{tmp_path / 'rules' / 'main.yaml'}:")
    assert "ops-slack" in line


def test_config_rule_and_template_problems_are_reported_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A config with an error of its own still has its rules and templates checked: one run shows all three."""
    config = VALID.replace("rules: rules/", "rules: rules/\ntemplates: templates/\npoll: {intervall: 5s}")
    path = write(tmp_path, config, rule=RULE.replace("channel: console", "channel: consol"))
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "title.j2").write_text("{% if %}", encoding="utf-8")
    assert main(["check", "--config", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{path}:9: poll: unknown key 'intervall' (did you mean 'interval'?)",
        f"{tmp_path / 'rules' / 'main.yaml'}:4: rule 'failed-publish': "
        "unknown channel 'consol' (did you mean 'console'?)",
        f"{tmp_path / 'templates' / 'title.j2'}:1: Expected an expression, got 'end of statement block'",
    ]


def test_an_edited_catalog_that_lost_a_placeholder_is_a_check_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A translation that dropped `%(name)s` would fail every message using it: check says where it is."""
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, locales)
    po = locales / "de_DE" / "LC_MESSAGES" / "messages.po"
    text = po.read_text(encoding="utf-8").replace("„%(name)s“ ist fehlgeschlagen", "ist fehlgeschlagen", 1)
    po.write_text(text, encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALES_DIR", locales)
    path = write(tmp_path, VALID)
    assert main(["check", "--config", str(path)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    number = next(n for n, t in enumerate(text.splitlines(), 1) if t.startswith("msgstr") and "ist fehlgeschlagen" in t)
    assert line == f"{po}:{number - 1}: placeholders must be: %(name)s"


def test_missing_config_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A config path that does not exist is reported, and check fails."""
    assert main(["check", "--config", str(tmp_path / "absent.yaml")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_production_example_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """examples/notifier.yaml, with the variables it references set, passes `notifier check`."""
    for name, value in EXAMPLE_ENV.items():
        monkeypatch.setenv(name, value)
    assert main(["check", "--config", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out == f"{EXAMPLE}: OK\n"


def test_production_example_references_exactly_these_variables(tmp_path: Path) -> None:
    """Each variable the example uses is one the test sets: an unset one is an error naming it."""
    for name in EXAMPLE_ENV:
        env = {k: v for k, v in EXAMPLE_ENV.items() if k != name}
        with pytest.raises(Exception, match=f"environment variable {name} is not set"):
            load_config(EXAMPLE, environ=env)


def _key_paths(data: Any, prefix: str = "") -> set[str]:
    """Every key path in a document; list items share their parent's path (companies.handle)."""
    paths: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            paths.add(path)
            paths |= _key_paths(value, path)
    elif isinstance(data, list):
        for item in data:
            paths |= _key_paths(item, prefix)
    return paths


def test_production_example_has_every_key_of_the_readme() -> None:
    """Every setting in README's Configuration block appears in the example (same channel names too)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Configuration") :]
    block = section[section.index("```yaml") + len("```yaml") : section.index("```", section.index("```yaml") + 7)]
    documented = _key_paths(parse_yaml(textwrap.dedent(block), "README.md").data)
    example = _key_paths(parse_yaml(EXAMPLE.read_text(encoding="utf-8"), str(EXAMPLE)).data)
    assert len(documented) > 40
    assert documented - example == set()


def test_production_example_templates_directory_is_shipped(tmp_path: Path) -> None:
    """The example's `templates:` directory exists beside it, so the example is usable as copied."""
    copy = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", copy)
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    config = load_config(copy / "notifier.yaml", environ=EXAMPLE_ENV)
    assert config.templates == copy.resolve() / "templates"
    assert config.rules is not None
    assert config.rules.resolve() == (tmp_path / "rules").resolve()


def _model_keys(model: type[Any], prefix: str) -> set[str]:
    """Every key a config model accepts, as `section.key` paths (channel types by their `type`)."""
    from pydantic import BaseModel

    keys: set[str] = set()
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = field.alias or name
        path = f"{prefix}.{key}" if prefix else key
        keys.add(path)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys |= _model_keys(annotation, path)
    return keys


def test_production_example_shows_every_setting() -> None:
    """Each setting the config accepts appears in examples/notifier.yaml, which claims to show them all."""
    from notifier import config

    data = parse_yaml(EXAMPLE.read_text(encoding="utf-8"), str(EXAMPLE)).data
    example = _key_paths(data)
    expected = _model_keys(config.Config, "")
    expected |= {f"companies.{k}" for k in _model_keys(config.CompanyConfig, "")}
    expected -= {"state_password"}  # only beside a postgresql:// state: deploy/cluster.yaml shows it
    assert sorted(expected - example) == []
    # Per channel type: each of its own settings appears in some channel of that type (`*_file` spells the
    # secret); the settings every channel has (concurrency, rate_limit) in at least one.
    common = _model_keys(config.ChannelBase, "")
    missing = sorted(common - {key for c in data["channels"].values() for key in c})
    for model in typing.get_args(typing.get_args(config.AnyChannel)[0]):
        kind = model.model_fields["type"].annotation.__args__[0]
        shown = {key.removesuffix("_file") for c in data["channels"].values() if c["type"] == kind for key in c}
        missing += [f"{kind}.{key}" for key in _model_keys(model, "") - shown - common]
    assert missing == []


ONCALL_PROBLEMS = (
    VALID.split("  console:")[0]
    + """\
  teams:
    type: teams
    webhook_url: ftp://prod-00.westus.logic.azure.com/workflows/x?sig=SiGnAtUrE
    timout: 5s
  pd:
    type: pagerduty
    routing_key: https://events.pagerduty.com/integration/0123
  pd2:
    type: pagerduty
    routing_key_file: pd_key
    api_url: events.pagerduty.com
  pd3: {type: pagerduty, routing_key_file: pd_key}
http:
  public_url: https://status.example.com/x?y=1
"""
)


def test_teams_pagerduty_and_public_url_problems_are_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad Teams, PagerDuty and public_url settings are each a file:line error; secrets are never echoed; a
    routing key read from a file is accepted."""
    (tmp_path / "pd_key").write_text("R0UT1NGK3Yf0rT3st5abcdef01234567\n", encoding="utf-8")
    path = write(tmp_path, ONCALL_PROBLEMS)
    assert main(["check", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"{path}:11: channels.teams.webhook_url: must be an http:// or https:// URL",
        f"{path}:12: channels.teams: unknown key 'timout' (did you mean 'timeout'?)",
        f"{path}:15: channels.pd.routing_key: must be the 32 letters and digits of an Events API v2 integration key",
        f"{path}:19: channels.pd2.api_url: must be an http:// or https:// URL",
        f"{path}:22: http.public_url: must be the base address of the status page, without ?query or #fragment",
        # The rules are checked in the same run: this config defines no `console` channel for them.
        f"{tmp_path / 'rules' / 'main.yaml'}:4: rule 'failed-publish': unknown channel 'console' "
        "(channels: pd, pd2, pd3, teams)",
    ]
    assert "SiGnAtUrE" not in err
    assert "R0UT1NGK3Y" not in err


def test_public_url_gives_the_status_page_address(tmp_path: Path) -> None:
    """A trailing slash is dropped: messages link to `<public_url>/status`."""
    path = write(tmp_path, VALID + "http: {public_url: 'https://ops.example.com/dmc/'}\n")
    assert load_config(path).http.status_url == "https://ops.example.com/dmc/status"


def test_grouping_keys_are_checked_at_their_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A group_by field that does not exist and a group_wait without group_by are errors at their own lines."""
    rule = RULE.replace(
        "  notify: [{channel: console}]\n",
        "  notify:\n    - channel: console\n      group_by: [company.handel]\n    - channel: console\n"
        "      group_wait: 1m\n",
    )
    path = write(tmp_path, VALID, rule=rule)
    assert main(["check", "--config", str(path)]) == 1
    main_yaml = tmp_path / "rules" / "main.yaml"
    assert capsys.readouterr().err.splitlines() == [
        f"{main_yaml}:6: rule 'failed-publish': group_by: unknown field 'company.handel' (did you mean 'handle'?)",
        f"{main_yaml}:8: rule 'failed-publish': group_wait needs group_by "
        "(group_by: [] makes one group per rule and channel)",
    ]


def test_a_channel_locale_no_catalog_serves_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`locale:` on a channel must name a locale the catalogs serve, said at its line."""
    path = write(tmp_path, VALID.replace("{type: console}", "{type: console, locale: tlh-KX}"))
    assert main(["check", "--config", str(path)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{path}:9: ")
    assert "no catalog serves locale 'tlh-KX'" in line


def test_threads_on_an_incoming_webhook_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An incoming webhook cannot thread: `threads:` there is valid but warned about at its line, and check passes."""
    hook = 'team: {type: slack, webhook_url: "https://hooks.slack.com/services/T0/B0/x", threads: true}'
    path = write(tmp_path, VALID.replace("console: {type: console}", f"console: {{type: console}}\n  {hook}"))
    assert main(["check", "--config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{path}: OK\n"
    (warning,) = err.splitlines()
    assert warning.startswith(f"{path}:10: warning: channel 'team': threads has no effect")
