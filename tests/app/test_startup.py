"""`notifier run` checks rules and templates before it starts: a broken rule file never becomes a running daemon."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from notifier.app.logs import REDACTOR
from notifier.cli import main

CONFIG = """\
ips: {endpoint: "http://127.0.0.1:9/scene7/services/IpsApiService", user: u, password: p}
companies: [{handle: "47"}]
rules: rules/
state: sqlite:///state.db
http: {listen: "127.0.0.1:0"}
channels:
  console: {type: console}
"""
BROKEN_RULE = """\
- name: failed-publish
  on: job.failed
  severity: critical
  notify: [{channel: nowhere}]
"""


@pytest.fixture(autouse=True)
def logging_as_before() -> Iterator[None]:
    """`run` configures logging onto this test's captured stderr; later tests must not write to it once closed."""
    config, secrets = structlog.get_config(), list(REDACTOR.secrets)
    yield
    structlog.configure(**config)
    REDACTOR.update(secrets)


def test_a_rule_error_stops_run_before_it_starts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A rule naming an unknown channel makes `run` print `file:line: message` and exit 1, touching no state."""
    (tmp_path / "rules").mkdir()
    rule_file = tmp_path / "rules" / "main.yaml"
    rule_file.write_text(BROKEN_RULE, encoding="utf-8")
    config = tmp_path / "notifier.yaml"
    config.write_text(CONFIG, encoding="utf-8")

    assert main(["run", "--config", str(config)]) == 1

    err = capsys.readouterr().err
    assert f"{rule_file}:4: rule 'failed-publish': unknown channel 'nowhere' (channels: console)" in err.splitlines()
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notifier.yaml", "rules"]
