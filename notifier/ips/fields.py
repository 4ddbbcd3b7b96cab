"""Reading values and fields out of IPS response elements: the innermost loop of every poll cycle.

Text converters turn an element's text into a typed value (raising `BadValue`, which the caller turns into an
`IpsParseError` naming the element). A `FieldReader` fills one model from an element's children by local
name, whatever namespace prefix the server chose, and learns each shape of element it meets so that a
response of thousands of jobs costs one tag comparison per child rather than a lookup and a split.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from lxml import etree

from notifier.ips.errors import IpsParseError
from notifier.models import positional_builder

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def local(tag: object) -> str:
    """Local name of an element tag, whatever namespace prefix the server chose."""
    if not isinstance(tag, str):
        return ""
    return tag[tag.rfind("}") + 1 :]


# ------------------------------------------------------------------------------------------ values
# A poll cycle may parse tens of thousands of jobs, so the hot path converts text, not elements: the element
# is consulted for its name only when a value is bad, and for xsi:nil only when the document holds one.

_HAS_NIL = etree.XPath("boolean(//@xsi:nil)", namespaces={"xsi": XSI_NIL[1 : XSI_NIL.find("}")]})


def may_have_nils(el: etree._Element) -> bool:
    """Whether any element of `el`'s document is xsi:nil; one C-level scan spares a lookup per element."""
    return bool(_HAS_NIL(el))


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


# Element → value, xsi:nil read as None, for callers converting one element at a time.
to_str = _element_converter(str_value)
to_int = _element_converter(int_value)
to_float = _element_converter(float_value)
to_bool = _element_converter(bool_value)
to_datetime = _element_converter(datetime_value)

# ----------------------------------------------------------------------------------------------- arrays

_ITEM_NAMES = ("items", "item")
_ITEM_SUFFIXES = ("}items", "}item")


def items(el: etree._Element | None) -> list[etree._Element]:
    """Children named `items` (or `item`, used by TaskProgressArray) of an array wrapper."""
    if el is None:
        return []
    return [c for c in el if isinstance(c.tag, str) and (c.tag.endswith(_ITEM_SUFFIXES) or c.tag in _ITEM_NAMES)]


# ------------------------------------------------------------------------------------------ fields

M = TypeVar("M")
Nested = Callable[[etree._Element, bool], Any]  # (element, may hold nils) → the field's value
# (field index, text converter or None for plain text, nested reader or None); None: an unknown element.
_Entry = tuple[int, TextConverter | None, Nested | None] | None
_UNSEEN: Any = object()
# Learned tags and shapes per reader: a server inventing namespaces or layouts cannot grow them without bound.
_MAX_TAGS = 512
_MAX_SHAPES = 256


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to read one shape of element (its children's tags, in order) without looking up each tag again.

    `steps` convert texts or read nested children in place, in document order so the first bad value is the
    one reported; `pick` then gathers every field at once from the children followed by the defaults.
    """

    steps: tuple[tuple[int, Any, bool], ...]  # (child position, converter or nested reader, nested)
    pick: Callable[[list[Any]], tuple[Any, ...]]


class FieldReader(Generic[M]):
    """Builds a model from an element's children by local name; unknown children are ignored.

    Responses hold many elements of few shapes, so the common path learns a plan per shape and fills all
    fields with one C-level gather. Documents holding xsi:nil take the general path, element by element.
    """

    def __init__(
        self,
        model: type[M],
        simple: Mapping[str, tuple[str, TextConverter]],
        nested: Mapping[str, tuple[str, Nested]] | None = None,
    ) -> None:
        fields = dataclasses.fields(model)  # type: ignore[arg-type]
        self._build = positional_builder(model)
        index = {f.name: i for i, f in enumerate(fields)}
        self._defaults = [_default(f) for f in fields]
        # The distinct defaults (None, ()) follow a shape's texts, so absent fields can be gathered too.
        self._fill = list({id(d): d for d in self._defaults}.values())
        self._fill_at = [[id(d) for d in self._fill].index(id(d)) for d in self._defaults]
        self._by_name: dict[str, _Entry] = {
            name: (index[attr], None if convert is str_value else convert, None)
            for name, (attr, convert) in simple.items()
        }
        self._by_name.update({name: (index[attr], None, read) for name, (attr, read) in (nested or {}).items()})
        self._tags: dict[object, _Entry] = {}
        self._plans: dict[tuple[object, ...], _Plan] = {}
        self._last: tuple[list[object], _Plan | None] = ([], None)

    def __call__(self, el: etree._Element, nils: bool) -> M:
        if nils:
            return self._build(self.values(el))
        kids: list[etree._Element] = el[:]  # type: ignore[index,assignment]  # lxml's fastest child list
        shape: list[object] = [c.tag for c in kids]
        last, plan = self._last
        if plan is None or shape != last:  # neighbours share a shape: comparing is cheaper than hashing
            plan = self._plans.get(tuple(shape)) or self._plan(tuple(shape))
            self._last = (shape, plan)
        texts: list[Any] = [c.text or "" for c in kids]
        pos = 0
        try:
            for pos, read, nested in plan.steps:
                texts[pos] = read(kids[pos], False) if nested else read(texts[pos])
        except BadValue as exc:
            raise exc.at(kids[pos]) from None
        return self._build(plan.pick(texts + self._fill))

    def values(self, el: etree._Element, nils: bool = True) -> list[Any]:
        """Every field of the model in declaration order; absent elements leave the field's default."""
        values = self._defaults.copy()
        child = el
        try:
            for child in el:
                entry = self._entry(child.tag)
                if entry is None:
                    continue
                index, convert, nested = entry
                if nested is not None:
                    values[index] = nested(child, nils)
                elif nils and is_nil(child):
                    values[index] = None
                else:
                    values[index] = convert(child.text) if convert else child.text or ""
        except BadValue as exc:
            raise exc.at(child) from None
        return values

    def _entry(self, tag: object) -> _Entry:
        entry = self._tags.get(tag, _UNSEEN)
        if entry is _UNSEEN:
            entry = self._by_name.get(local(tag))
            if len(self._tags) < _MAX_TAGS:
                self._tags[tag] = entry
        return entry  # type: ignore[no-any-return]

    def _plan(self, shape: tuple[object, ...]) -> _Plan:
        sources = [len(shape) + at for at in self._fill_at]  # each field's default, at first
        steps = []
        for pos, tag in enumerate(shape):
            entry = self._entry(tag)
            if entry is not None:
                index, convert, nested = entry
                sources[index] = pos
                if convert or nested:
                    steps.append((pos, nested or convert, nested is not None))
        pick = operator.itemgetter(*sources) if len(sources) > 1 else lambda xs: (xs[sources[0]],)
        plan = _Plan(tuple(steps), pick)
        if len(self._plans) < _MAX_SHAPES:
            self._plans[shape] = plan
        return plan


def _default(f: dataclasses.Field[Any]) -> Any:
    # Every model default is immutable (None or ()), so one shared value per field is safe.
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
