"""Reading values out of IPS response elements: local names, xsi:nil, and text → typed value converters.

Converters take an element's text and raise `BadValue`, which the caller turns into an `IpsParseError` that
names the element: a poll cycle may convert hundreds of thousands of values, so the hot path handles text,
and the element is consulted only when a value is bad. `reader.FieldReader` builds models from them.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import accumulate, chain
from typing import Any

from lxml import etree

from notifier.ips.errors import IpsParseError

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def local(tag: object) -> str:
    """Local name of an element tag, whatever namespace prefix the server chose."""
    if not isinstance(tag, str):
        return ""
    return tag[tag.rfind("}") + 1 :]


class LocalNames(dict[object, str]):
    """`local` for many tags at once (`map(names.__getitem__, tags)`): each distinct tag split once.

    A server inventing a namespace per answer cannot grow it without bound: it starts over when full.
    """

    def __init__(self, limit: int = 512) -> None:
        super().__init__()
        self.limit = limit

    def __missing__(self, tag: object) -> str:
        if len(self) >= self.limit:
            self.clear()
        name = self[tag] = local(tag)
        return name


# ------------------------------------------------------------------------------------------ values

_HAS_NIL = etree.XPath("boolean(descendant-or-self::*/@xsi:nil)", namespaces={"xsi": XSI_NIL[1 : XSI_NIL.find("}")]})


def may_have_nils(el: etree._Element, data: bytes | None = None) -> bool:
    """Whether `el` or any element within it is xsi:nil; one C-level scan spares a lookup per element.

    `data`, the bytes `el` was parsed from, can settle it without the scan (see `_no_nil_attribute`).
    """
    if data is not None and _no_nil_attribute(data):
        return False
    return bool(_HAS_NIL(el))


_SPACE = frozenset(b" \t\r\n")
_MAX_EQUALS = 64


def _no_nil_attribute(data: bytes) -> bool:
    """True when no attribute in `data` is named `nil` (under any prefix); False when it cannot tell cheaply.

    Names take no character references, so in bytes that write ASCII as ASCII (they start with `<`, not with a
    byte-order mark or a UTF-16 or UTF-32 `<`) an attribute is `nil`, maybe spaces, `=`. An answer has few `=`
    (its namespace declarations), found in C; looking for `nil` itself would scan every letter.
    """
    if data[:1] != b"<" or data[1:2] == b"\0":
        return False
    at = data.find(b"=")
    for _ in range(_MAX_EQUALS):
        if at < 0:
            return True
        end = at
        while end > 0 and data[end - 1] in _SPACE and at - end < 16:
            end -= 1
        if data[max(0, end - 3) : end] == b"nil" or at - end >= 16:
            return False
        at = data.find(b"=", at + 1)
    return False


def is_nil(el: etree._Element) -> bool:
    return el.get(XSI_NIL) in ("true", "1")


class BadValue(ValueError):
    """Text that is not the type its element promises; the caller adds the element's name."""

    def __init__(self, expected: str, shown: str) -> None:
        super().__init__(expected)
        self.expected, self.shown = expected, shown

    def at(self, el: etree._Element) -> IpsParseError:
        return IpsParseError(f"<{local(el.tag)}> is not {self.expected}: {self.shown[:40]!r}")


def str_value(text: str | None) -> str:
    return text or ""


def int_value(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(text)  # int() ignores surrounding whitespace itself
    except ValueError:
        if not text.strip():
            return None
        raise BadValue("an integer", text) from None


def size_value(text: str | None) -> int | None:
    """A byte count that the reference types as a string: an integer when it reads as a number (`1.5E9`
    too), else nothing. A server's odd rendering of one job's size must not cost the whole snapshot."""
    try:
        return int_value(text)
    except BadValue:
        pass
    try:
        number = float(text or "")
    except ValueError:
        return None
    return int(number) if math.isfinite(number) and number >= 0 else None


def float_value(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        if not text.strip():
            return None
        raise BadValue("a number", text) from None


def bool_value(text: str | None) -> bool | None:
    value = text.strip() if text else ""
    if not value:
        return None
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise BadValue("a boolean", value)


def datetime_value(text: str | None) -> datetime | None:
    """xsd:dateTime with an offset, `Z` or none (taken as UTC), and any number of fractional digits."""
    if not text:
        return None
    dot = text.find(".", 10)
    # The common form (no padding, 1–6 fractional digits) goes straight to the C parser; the rest is trimmed.
    if dot >= 0 and (not text[dot + 1 : dot + 2].isdigit() or text[dot + 1 : dot + 8].isdigit()):
        return _datetime_trimmed(text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return _datetime_trimmed(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _datetime_trimmed(text: str) -> datetime | None:
    value = text.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(_trim_fraction(value))
    except ValueError:
        raise BadValue("a dateTime", value) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _trim_fraction(value: str) -> str:
    """Python reads at most microseconds; Java may send nanoseconds."""
    dot = value.find(".", 10)
    if dot < 0:
        return value
    end = dot + 1
    while end < len(value) and value[end].isdigit():
        end += 1
    digits = value[dot + 1 : end][:6]
    return value[: dot + 1] + (digits or "0") + value[end:]


TextConverter = Callable[[str | None], Any]


def element_text(el: etree._Element | None) -> str | None:
    if el is None or is_nil(el):
        return None
    return el.text or ""


def _element_converter(convert: TextConverter) -> Callable[[etree._Element], Any]:
    def from_element(el: etree._Element) -> Any:
        if is_nil(el):
            return None
        try:
            return convert(el.text)
        except BadValue as exc:
            raise exc.at(el) from None

    return from_element


# Element → value, xsi:nil read as None, for the simulator reading request parameters one at a time.
to_datetime = _element_converter(datetime_value)

# ----------------------------------------------------------------------------------------------- arrays

_TAG = operator.attrgetter("tag")
_ITEM_NAMES = ("items", "item")
_ITEM_SUFFIXES = ("}items", "}item")


def items(el: etree._Element | None) -> list[etree._Element]:
    """Children named `items` of an array wrapper, or `item`, as some of Adobe's pages write the task arrays."""
    if el is None:
        return []
    kids: list[etree._Element] = el[:]  # type: ignore[index,assignment]
    if not kids:
        return kids
    # The usual array: all children of one item tag, counted in C without making a tag string for each.
    first = kids[0].tag
    if _is_item(first) and len(list(el.iterchildren(first))) == len(kids):
        return kids
    tags = [c.tag for c in kids]
    return [c for c, tag in zip(kids, tags, strict=True) if _is_item(tag)]


def item_lists(els: Sequence[etree._Element]) -> list[list[etree._Element]]:
    """`items` of many array wrappers, the usual case (every child of every wrapper an item of one tag) judged once."""
    kids: list[etree._Element] = list(chain.from_iterable(els))
    tags = list(map(_TAG, kids))
    if not tags or tags.count(tags[0]) != len(tags) or not _is_item(tags[0]):
        return [items(el) for el in els]
    ends = list(accumulate(map(len, els)))
    return list(map(kids.__getitem__, map(slice, [0, *ends[:-1]], ends)))


def _is_item(tag: object) -> bool:
    return isinstance(tag, str) and (tag.endswith(_ITEM_SUFFIXES) or tag in _ITEM_NAMES)
