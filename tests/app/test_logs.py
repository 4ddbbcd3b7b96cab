"""The log scrubber: the last line of defence, for what a library might echo into a log line."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
import structlog

from notifier.app.logs import REDACTOR, configure_logging, scrub_log

SECRET = "s3cr3t-T0ken-abc"


class Opaque:
    def __str__(self) -> str:
        return f"connection to https://hooks.example.com/{SECRET} failed"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"token={SECRET}", "token=***"),
        ({"url": f"https://x/{SECRET}", "n": 3}, {"url": "https://x/***", "n": 3}),
        ([f"a {SECRET}", 2, None, {"deep": (SECRET,)}], ["a ***", 2, None, {"deep": ("***",)}]),
        (Opaque(), "connection to https://hooks.example.com/*** failed"),
        (42, 42),
    ],
)
def test_secrets_are_removed_wherever_they_sit(value: object, expected: object, secret: None) -> None:
    """Secrets in strings, nested containers and objects' text are replaced; shapes and numbers are kept."""
    assert scrub_log(None, "info", {"event": "x", "value": value})["value"] == expected


def test_objects_without_a_secret_are_left_alone(secret: None) -> None:
    """An object whose text holds no secret is passed on as it is, for the renderer to format."""
    marker = object()
    assert scrub_log(None, "info", {"event": "x", "value": marker})["value"] is marker


def test_short_values_are_not_treated_as_secrets() -> None:
    """Values under four characters are not redacted: they would blank out ordinary words."""
    REDACTOR.update(["ab", ""])
    try:
        assert scrub_log(None, "info", {"event": "abc"})["event"] == "abc"
    finally:
        REDACTOR.update([])


def test_terminal_escapes_and_huge_values_do_not_reach_a_log_line() -> None:
    """An ESC sequence from a job name is neutralized and a megabyte value is cut; line breaks stay."""
    logged = scrub_log(None, "info", {"event": "x", "job": "a\x1b[2Jb", "name": "y" * 1_000_000, "tb": "1\n2"})
    assert logged["job"] == "a\ufffd[2Jb"
    assert len(logged["name"]) == 8192
    assert logged["tb"] == "1\n2"


@pytest.fixture
def secret() -> Iterator[None]:
    REDACTOR.update([SECRET])
    yield
    REDACTOR.update([])


@pytest.fixture
def production_logging() -> Iterator[None]:
    configure_logging("json", "info", [SECRET])
    yield
    structlog.reset_defaults()
    REDACTOR.update([])


def test_configured_logging_redacts_and_keeps_json_structure(
    production_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With production logging, a logged secret comes out as *** and nested values stay JSON objects."""
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    structlog.get_logger("test").warning("failed", headers={"Authorization": f"Bearer {SECRET}"}, attempts=[1, 2])
    line = json.loads(stderr.getvalue().splitlines()[-1])
    assert line["headers"] == {"Authorization": "Bearer ***"}
    assert line["attempts"] == [1, 2]
    assert SECRET not in stderr.getvalue()
