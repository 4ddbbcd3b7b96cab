"""`notifier schema rules`: a JSON Schema that accepts every shipped rule file and catches typical mistakes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from notifier.cli import main
from notifier.sources.sourcemap import Loader
from tests.support.processes import SHIPPED_RULES

SHIPPED = sorted(SHIPPED_RULES.glob("*.yaml"))


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    from notifier.commands.rules import rules_schema

    schema = rules_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def load(text: str) -> Any:
    return yaml.load(text, Loader=Loader)  # noqa: S506 - the project's safe loader with YAML 1.2 booleans


def test_schema_command_prints_valid_json(capsys: pytest.CaptureFixture[str]) -> None:
    """The command prints the schema as JSON on stdout and exits 0."""
    assert main(["schema", "rules"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "dmc-notifier rules"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_rules_validate(validator: Draft202012Validator, path: Path) -> None:
    """Every rule file shipped in rules/ is valid against the schema."""
    errors = list(validator.iter_errors(load(path.read_text(encoding="utf-8"))))
    assert errors == []


@pytest.mark.parametrize(
    "text",
    [
        "- name: a\n  on: job.failed\n  wher: x\n  notify: [{channel: c}]\n",  # typo in a key
        "- name: a\n  on: job.faild\n  notify: [{channel: c}]\n",  # unknown event
        "- name: a\n  on: job.failed\n  severity: urgent\n  notify: [{channel: c}]\n",  # unknown severity
        "- name: a\n  on: job.active\n  for: 5 minutes\n  notify: [{channel: c}]\n",  # bad duration
        "- name: a\n  on: job.failed\n",  # nobody to notify
        "rules:\n  - name: a\n    on: job.failed\n    notify: [{channel: c}]\nextra: 1\n",  # unknown top-level key
    ],
)
def test_schema_flags_mistakes(validator: Draft202012Validator, text: str) -> None:
    """Mistakes an editor should underline are schema errors."""
    assert list(validator.iter_errors(load(text)))
