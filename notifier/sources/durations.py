"""Durations as people write them in config and rules (`500ms`, `30s`, `15m`, `1h30m`, `1d`) ↔ seconds.

A bare number means seconds. Anything else ("5 minutes", "-3s", "1x") is refused with a message that shows
the accepted spelling, because a silently misread interval is worse than a start-up error.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
PATTERN = r"^\s*(\d+(\.\d+)?(ms|s|m|h|d))+\s*$"
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_WHOLE = re.compile(PATTERN)
HINT = "use e.g. 500ms, 30s, 15m, 2h, 1h30m, 1d"


def parse_duration(value: str | float) -> float:
    """Seconds for `value`; raises ValueError naming the accepted forms."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration, got a boolean ({HINT})")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"a duration must be a non-negative number of seconds ({HINT})")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a duration ({HINT})")
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return parse_duration(number)
    if not _WHOLE.match(text):
        raise ValueError(f"not a duration ({HINT})")
    return sum(float(amount) * UNITS[unit] for amount, unit in _PART.findall(text))


def format_duration(seconds: float) -> str:
    """The shortest exact spelling for whole seconds (`1h30m`), `ms` below a second, never negative."""
    if seconds < 1:
        return f"{round(max(seconds, 0.0) * 1000)}ms"
    total = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, total = divmod(total, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)


def _validate(value: Any) -> float:
    return parse_duration(value)


# In a pydantic model: accepts the spellings above (or seconds) and holds float seconds.
Duration = Annotated[
    float,
    BeforeValidator(_validate),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": PATTERN}, {"type": "number", "minimum": 0}],
            "description": "a duration: 500ms, 30s, 15m, 2h, 1h30m, 1d, or seconds as a number",
        }
    ),
]
