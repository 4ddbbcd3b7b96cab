"""Durations as people write them: the accepted spellings, the refused ones, and the way back to text."""

from __future__ import annotations

import math

import pytest
from pydantic import BaseModel, ValidationError

from notifier.sources.durations import HINT, Duration, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("30s", 30.0),
        ("15m", 900.0),
        ("2h", 7200.0),
        ("1h30m", 5400.0),
        ("1d", 86400.0),
        ("1d2h3m4s", 93784.0),
        ("1m500ms", 60.5),
        ("1.5h", 5400.0),
        ("  45s  ", 45.0),
        ("0s", 0.0),
        ("90", 90.0),
        ("2.5", 2.5),
        (30, 30.0),
        (0.25, 0.25),
    ],
)
def test_accepted_spellings(text: str | float, seconds: float) -> None:
    """Every documented unit, combinations of them and bare numbers (seconds) parse to seconds."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["5 minutes", "-3s", "1x", "", "s", "1h 30m", "1.h", "30S", "1w", "inf", "nan", "-1", "1e400"],
)
def test_refused_spellings_name_the_accepted_ones(text: str) -> None:
    """Anything else is refused with a message that shows how to write a duration."""
    with pytest.raises(ValueError, match=r"use e\.g\. 500ms") as caught:
        parse_duration(text)
    assert HINT in str(caught.value)


@pytest.mark.parametrize("value", [True, False, None, [30], {"s": 1}, -1, -0.5, math.inf, math.nan])
def test_non_durations_of_other_types_are_refused(value: object) -> None:
    """Booleans, negative or non-finite numbers and non-scalars are not durations."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)  # type: ignore[arg-type]


def test_refusal_does_not_repeat_the_value() -> None:
    """The message never echoes what was written: the value may have come from a secret variable."""
    with pytest.raises(ValueError, match="not a duration") as caught:
        parse_duration("hunter2-topsecret")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0ms"), (0.25, "250ms"), (1, "1s"), (90, "1m30s"), (5400, "1h30m"), (86400, "1d"), (93784, "1d2h3m4s")],
)
def test_format_is_the_shortest_exact_spelling(seconds: float, text: str) -> None:
    """format_duration writes what a person would, and it parses back to the same value."""
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


def test_format_never_shows_a_negative_duration() -> None:
    """A negative remainder (a clock that moved back) is shown as zero."""
    assert format_duration(-5) == "0ms"


class _Model(BaseModel):
    timeout: Duration = 30.0


def test_pydantic_field_holds_seconds() -> None:
    """A Duration field accepts the spellings and holds float seconds."""
    assert _Model.model_validate({"timeout": "1m30s"}).timeout == 90.0
    assert _Model().timeout == 30.0


def test_pydantic_field_reports_the_hint() -> None:
    """An invalid Duration field fails validation with the accepted spellings in the message."""
    with pytest.raises(ValidationError, match=r"use e\.g\. 500ms"):
        _Model.model_validate({"timeout": "soon"})


def test_json_schema_describes_both_forms() -> None:
    """Editors completing config or rule files see the string pattern and the number form."""
    schema = _Model.model_json_schema()["properties"]["timeout"]
    assert {"type": "number", "minimum": 0} in schema["anyOf"]
    assert any(option.get("type") == "string" and "pattern" in option for option in schema["anyOf"])
