"""FieldReader: frozen models from response elements, by each child's local name, one or thousands at a time.

A poll cycle may parse tens of thousands of jobs, and a response holds many elements of few shapes (the
children's tags, in order). So the reader learns a plan per shape: which child feeds which field and how its
text converts. An array is read column by column: for each run of elements of one shape, each field's texts
are converted in one pass (C-level where the value's form allows) and the objects are built field by field
in C. Anything unusual takes the element-by-element path, which is also the reference for every result and
error: documents holding xsi:nil, shapes naming a field twice, and any value that fails to convert, so the
first bad value in document order is the one reported.
"""

from __future__ import annotations

import dataclasses
import operator
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain, islice, repeat
from typing import Any, Generic, TypeVar

from lxml import etree

from notifier.ips.columns import column_builder, convert_column, positional_builder
from notifier.ips.errors import IpsParseError
from notifier.ips.values import (
    BadValue,
    TextConverter,
    is_nil,
    item_lists,
    local,
    str_value,
)

M = TypeVar("M")
# A nested reader converts a column of elements (one per object, all of one tag: the children at one position
# of one shape) into that field's values.
Nested = Callable[[Sequence[etree._Element], bool], list[Any]]
# The children (True) or their texts (False) at one position of a shape, one per element of a group.
_Column = Callable[[int, bool], list[Any]]
# (field index, text converter or None for plain text, nested reader or None); None: an unknown element.
_Entry = tuple[int, TextConverter | None, Nested | None] | None
_Source = tuple[int, TextConverter | None, Nested | None] | None  # per field: (child position, …) or absent
_UNSEEN: Any = object()
CHUNK = 2000  # elements read in one go (some 30,000 children: a few milliseconds of C)
_TAG, _TEXT = operator.attrgetter("tag"), operator.attrgetter("text")
# Learned tags and shapes per reader: a server inventing namespaces or layouts cannot grow them without bound.
_MAX_TAGS = 512
_MAX_SHAPES = 256


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to read one shape of element.

    `steps` (child position, converter or nested reader, nested) run in document order for one element;
    `pick` then gathers every field from the children's values followed by the defaults. `sources` says, per
    model field, which child feeds it; `distinct` that no field is fed twice, so columns can be read whole.
    """

    steps: tuple[tuple[int, Any, bool], ...]
    pick: Callable[[list[Any]], tuple[Any, ...]]
    sources: tuple[_Source, ...]
    distinct: bool


class FieldReader(Generic[M]):
    """Builds models from elements' children by local name; unknown children are ignored."""

    def __init__(
        self,
        model: type[M],
        simple: Mapping[str, tuple[str, TextConverter]],
        nested: Mapping[str, tuple[str, Nested]] | None = None,
        *,
        unique: Collection[str] = (),
    ) -> None:
        """`unique`: the plain fields whose texts differ from record to record (handles, names): their equal texts
        are not looked for (see `columns.convert_column`)."""
        fields = dataclasses.fields(model)  # type: ignore[arg-type]
        self._build = positional_builder(model)
        self._build_many = column_builder(model)
        index = {f.name: i for i, f in enumerate(fields)}
        self._defaults = [_default(f) for f in fields]
        self._shared = [f.name not in unique for f in fields]
        # The distinct defaults (None, ()) follow a shape's values, so absent fields can be gathered too.
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

    # --------------------------------------------------------------------------------------- one element

    def __call__(self, el: etree._Element, nils: bool) -> M:
        if nils:
            return self._build(self.values(el))
        kids: list[etree._Element] = el[:]  # type: ignore[index,assignment]  # lxml's fastest child list
        shape: list[object] = [c.tag for c in kids]
        last, plan = self._last
        if plan is None or shape != last:  # neighbours share a shape: comparing is cheaper than hashing
            plan = self._plan(shape)
            self._last = (shape, plan)
        texts: list[Any] = [c.text or "" for c in kids]
        pos = 0
        try:
            for pos, read, nested in plan.steps:
                texts[pos] = read([kids[pos]], False)[0] if nested else read(texts[pos])
        except BadValue as exc:
            raise exc.at(kids[pos]) from None
        return self._build(plan.pick(texts + self._fill))

    @property
    def learned(self) -> tuple[int, int]:
        """How many element tags and shapes this reader has learned (each table has a bound)."""
        return len(self._tags), len(self._plans)

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
                    values[index] = nested([child], nils)[0]
                elif nils and is_nil(child):
                    values[index] = None
                else:
                    values[index] = convert(child.text) if convert else child.text or ""
        except BadValue as exc:
            raise exc.at(child) from None
        return values

    # ------------------------------------------------------------------------------------------- arrays

    def many(self, els: Sequence[etree._Element], nils: bool) -> list[M]:
        """One model per element, in order: the same as calling the reader on each, in much less time.

        All children of all elements are listed once, with their tags and texts. Elements of one shape (the
        same tags in the same order) are then read together, column by column: usually one shape runs
        throughout; a response mixing job types (each with its own detail element) is read shape by shape.
        """
        if nils:
            return [self._build(self.values(el)) for el in els]
        if len(els) <= CHUNK:
            return self._many(els)
        # A huge answer is read a chunk at a time: each C-level pass over a chunk is short, so a thread reading it
        # lets the event loop's thread have the interpreter between passes (C loops never hand it over).
        found: list[M] = []
        for start in range(0, len(els), CHUNK):
            found.extend(self._many(els[start : start + CHUNK]))
        return found

    def _many(self, els: Sequence[etree._Element]) -> list[M]:
        if not els:
            return []
        kids: list[etree._Element] = list(chain.from_iterable(els))
        tags, texts, counts = list(map(_TAG, kids)), list(map(_TEXT, kids)), list(map(len, els))
        width = counts[0]
        shape = tags[:width]
        if counts == [width] * len(els) and tags == shape * len(els):  # one shape throughout, checked in C
            return self._columns(els, _strided(kids, texts, width), shape)
        try:
            return self._by_shape(els, kids, texts, tags, counts)
        except IpsParseError:
            # A bad value in a later shape may come before one in an earlier shape: read in document order,
            # so the error reported is the first bad value of the document.
            return [self(el, False) for el in els]

    def _by_shape(
        self,
        els: Sequence[etree._Element],
        kids: list[etree._Element],
        texts: list[Any],
        tags: list[object],
        counts: list[int],
    ) -> list[M]:
        """Elements grouped by shape, each group read column by column, then put back in document order."""
        starts = list(accumulate(counts, initial=0))
        spans = list(map(slice, starts, starts[1:]))
        out: list[Any] = [None] * len(els)
        for shape, members in _shapes(tags, spans, counts):
            group = list(map(spans.__getitem__, members))
            # The group's texts, one element after the other, gathered in C; its children only if asked for.
            group_texts = list(chain.from_iterable(map(texts.__getitem__, group)))
            column = _gathered(kids, [span.start for span in group], group_texts, len(shape))
            models = self._columns(list(map(els.__getitem__, members)), column, shape)
            deque(map(out.__setitem__, members, models), maxlen=0)
        return out

    def _columns(self, els: Sequence[etree._Element], column: _Column, shape: list[object]) -> list[M]:
        """Elements of one shape, field by field; anything unusual goes element by element.

        `column(pos, elements)` gives the child at position `pos` of the shape (or its text, when not
        `elements`) of every element, in order.
        """
        plan = self._plan(shape)
        if not plan.distinct or not shape:
            return [self(el, False) for el in els]
        n = len(els)
        columns: list[Any] = []
        try:
            for index, source in enumerate(plan.sources):
                if source is None:
                    columns.append(repeat(self._defaults[index], n))
                    continue
                pos, convert, nested = source
                if nested is not None:
                    columns.append(nested(column(pos, True), False))
                else:
                    columns.append(convert_column(convert, column(pos, False), self._shared[index]))
        except BadValue:
            return [self(el, False) for el in els]  # to report the first bad value in document order
        return self._build_many(columns, n)

    # -------------------------------------------------------------------------------------------- plans

    def _entry(self, tag: object) -> _Entry:
        entry = self._tags.get(tag, _UNSEEN)
        if entry is _UNSEEN:
            entry = self._by_name.get(local(tag))
            if len(self._tags) < _MAX_TAGS:
                self._tags[tag] = entry
        return entry  # type: ignore[no-any-return]

    def _plan(self, shape: list[object]) -> _Plan:
        key = tuple(shape)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        picks = [len(shape) + at for at in self._fill_at]  # each field's default, at first
        sources: list[_Source] = [None] * len(self._defaults)
        steps, fed = [], []
        for pos, tag in enumerate(shape):
            entry = self._entry(tag)
            if entry is not None:
                index, convert, nested = entry
                picks[index] = pos
                sources[index] = (pos, convert, nested)
                fed.append(index)
                if convert or nested:
                    steps.append((pos, nested or convert, nested is not None))
        pick = operator.itemgetter(*picks) if len(picks) > 1 else lambda xs: (xs[picks[0]],)
        plan = _Plan(tuple(steps), pick, tuple(sources), len(fed) == len(set(fed)))
        if len(self._plans) < _MAX_SHAPES:
            self._plans[key] = plan
        return plan


def array_reader(reader: FieldReader[M]) -> Nested:
    """A nested reader for array wrappers of `reader`'s elements (a job's tasks, a log's lines): the items of
    all the wrappers are read as one array, then handed back to their wrappers as tuples."""

    def read(els: Sequence[etree._Element], nils: bool) -> list[tuple[M, ...]]:
        per_wrapper = item_lists(els)
        found = iter(reader.many(list(chain.from_iterable(per_wrapper)), nils))
        return [tuple(islice(found, len(wrapper))) for wrapper in per_wrapper]

    return read


def _shapes(tags: list[object], spans: list[slice], counts: list[int]) -> list[tuple[list[object], list[int]]]:
    """Each shape among the elements whose children are `tags[span]`, with the elements of that shape.

    Tags are fresh strings, slow to hash; elements are first sorted by their child count and last tag (what
    mostly tells job types apart: their detail element comes last), and each such group is then checked in C
    to hold one shape throughout. A group that does not is split by its full shapes.
    """
    lasts = list(map(tags.__getitem__, [span.stop - 1 for span in spans]))
    rough: dict[tuple[int, object], list[int]] = {}
    for i, key in enumerate(zip(counts, lasts, strict=True)):
        rough.setdefault(key, []).append(i)
    found: list[tuple[list[object], list[int]]] = []
    for members in rough.values():
        group = list(map(spans.__getitem__, members))
        shape = tags[group[0]]
        if list(chain.from_iterable(map(tags.__getitem__, group))) == shape * len(members):
            found.append((shape, members))
            continue
        exact: dict[tuple[object, ...], list[int]] = {}
        for i, span in zip(members, group, strict=True):
            exact.setdefault(tuple(tags[span]), []).append(i)
        found.extend((list(shape), same) for shape, same in exact.items())
    return found


def _strided(kids: list[etree._Element], texts: list[Any], width: int) -> _Column:
    """Columns of elements of one shape whose children (and their texts) are listed one element after another."""

    def column(pos: int, elements: bool) -> list[Any]:
        return (kids if elements else texts)[pos::width]

    return column


def _gathered(kids: list[etree._Element], starts: list[int], texts: list[Any], width: int) -> _Column:
    """Columns of elements of one shape whose children start at `starts` in `kids`; their texts, listed one
    element after another, are `texts`."""

    def column(pos: int, elements: bool) -> list[Any]:
        return list(map(kids.__getitem__, [start + pos for start in starts])) if elements else texts[pos::width]

    return column


def _default(f: dataclasses.Field[Any]) -> Any:
    # Every model default is immutable (None or ()), so one shared value per field is safe.
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
