"""Models built many at a time, and a column of texts converted in one pass: the C-level halves of reading."""

from __future__ import annotations

import dataclasses
import operator
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from itertools import repeat
from typing import Any, TypeVar

from notifier.ips.values import TextConverter, datetime_value, float_value, int_value, size_value

M = TypeVar("M")


def _slot_setters(cls: type) -> tuple[Callable[[Any, Any], None], ...]:
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__, which a builder would skip")
    return tuple(getattr(cls, f.name).__set__ for f in dataclasses.fields(cls))


def positional_builder(cls: type[M]) -> Callable[[Iterable[Any]], M]:
    """A constructor for a frozen, slotted model taking every field's value, in declaration order.

    A frozen dataclass's `__init__` pays a generic `object.__setattr__` per field; the parser builds tens of
    thousands of jobs per poll cycle, so it sets the slots through their descriptors instead. The object is
    the one `cls(*values)` makes: like `__init__` it validates nothing, unlike it every value is required.
    """
    setters = _slot_setters(cls)
    new = object.__new__

    def build(values: Iterable[Any]) -> M:
        obj = new(cls)
        for setter, value in zip(setters, values, strict=True):
            setter(obj, value)
        return obj

    return build


def column_builder(cls: type[M]) -> Callable[[Sequence[Iterable[Any]], int], list[M]]:
    """Like `positional_builder`, for `n` objects at once: one column of `n` values per field, in order.

    Each column is set by one C-level loop, so building many objects costs no Python code per object.
    """
    setters = _slot_setters(cls)
    new = object.__new__

    def build(columns: Sequence[Iterable[Any]], n: int) -> list[M]:
        objs: list[M] = list(map(new, repeat(cls, n)))
        for setter, column in zip(setters, columns, strict=True):
            deque(map(setter, objs, column), maxlen=0)
        return objs

    return build


# ----------------------------------------------------------------------------------- column conversion

# Where a C conversion gives the same result as ours for every text it accepts. `datetime.fromisoformat` does too,
# for every text it accepts, once a value without an offset is read as UTC (as `datetime_value` reads it).
_C_CONVERTERS: dict[Any, Callable[[Any], Any]] = {int_value: int, size_value: int, float_value: float}
_TZINFO = operator.attrgetter("tzinfo")


def convert_column(convert: TextConverter | None, texts: list[Any], shared: bool = True) -> Sequence[Any]:
    """One field's texts (None for an empty element) → its values, the fast way when the texts allow it.

    Plain texts that repeat from job to job (company, type, state, user, locale, server) become one string when
    `shared`, so tens of thousands of tracked jobs do not each hold their own copies; texts unique to each job
    (handles, names) are not worth the lookup.
    """
    if convert is None:
        values = [text or "" for text in texts] if None in texts else texts
        if not shared:
            return values
        kept: dict[str, str] = {}
        return list(map(kept.setdefault, values, values))
    fast = _C_CONVERTERS.get(convert)
    if convert is datetime_value and None not in texts:
        try:
            found = list(map(datetime.fromisoformat, texts))
        except ValueError:
            pass
        else:
            if None not in map(_TZINFO, found):
                return found
    elif fast is not None:
        try:
            return list(map(fast, texts))
        except (TypeError, ValueError):
            pass  # an empty or unusual text: ours knows what it means, or says what is wrong
    return list(map(convert, texts))
