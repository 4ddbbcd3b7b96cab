"""Small elements whose children vary by job type or version: job-type details and the items of a task.

Their children are kept by name (the known publish settings as fields, the rest as name/text pairs) rather
than mapped to fixed fields, so they cannot be read column by column like a job. They are read many at a
time instead: all children listed once, in C, and each element's share picked out by position. The readers
are given the elements at one position of one shape (see `reader.Nested`), so all of one tag.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from itertools import accumulate, chain, islice, repeat

from lxml import etree

from notifier.ips.columns import column_builder
from notifier.ips.values import LocalNames, is_nil, item_lists, local
from notifier.models import JobDetail, TaskItemProgress

_TAG, _TEXT = operator.attrgetter("tag"), operator.attrgetter("text")
_DETAIL_KNOWN = ("publishType", "emailSetting", "httpCompletionUrl")
_MAX_DETAILS = 1024
_NAMES = LocalNames()
_task_items = column_builder(TaskItemProgress)


def _spans(els: Sequence[etree._Element]) -> tuple[list[etree._Element], list[slice]]:
    """Every child of `els` in one list, and the slice of it that is each element's."""
    kids: list[etree._Element] = list(chain.from_iterable(els))
    ends = list(accumulate(map(len, els)))
    return kids, list(map(slice, [0, *ends[:-1]], ends))


class DetailReader:
    """Job-type details of many jobs; equal ones (publish settings repeat from job to job) are one frozen value.

    A detail is looked up by its kind and its children's tags and texts, which say everything it holds as long
    as no child has children of its own (then it is read as it stands, every time).
    """

    def __init__(self) -> None:
        self._known: dict[tuple[object, ...], JobDetail] = {}

    def __call__(self, els: Sequence[etree._Element], nils: bool) -> list[JobDetail]:
        if nils or not els:
            return [read_job_detail(el, nils) for el in els]
        kids, spans = _spans(els)
        if any(map(len, kids)):
            return [read_job_detail(el, False) for el in els]
        # Tags and texts interleaved, so one slice per element is its whole key.
        pairs: list[object] = [None] * (2 * len(kids))
        pairs[0::2], pairs[1::2] = map(_TAG, kids), map(_TEXT, kids)
        doubled = [slice(2 * span.start, 2 * span.stop) for span in spans]
        keys = list(zip(repeat(els[0].tag), map(tuple, map(pairs.__getitem__, doubled))))
        found = list(map(self._known.get, keys))
        if not any(map(operator.is_, found, repeat(None))):  # `None in found` would call each detail's __eq__
            return found  # type: ignore[return-value]  # no None in it, as just checked
        # Settings not seen before are read once and shared from then on, within this answer too.
        known = self._known
        return [hit or known.get(key) or self._remember(key, el) for hit, key, el in zip(found, keys, els, strict=True)]

    def _remember(self, key: tuple[object, ...], el: etree._Element) -> JobDetail:
        if len(self._known) >= _MAX_DETAILS:  # a server inventing settings per job cannot grow it without bound
            self._known.clear()
        detail = self._known[key] = read_job_detail(el, False)
        return detail


def read_job_detail(el: etree._Element, nils: bool) -> JobDetail:
    """One detail, child by child: the reference for `DetailReader`."""
    known: list[str | None] = [None, None, None]
    other: list[tuple[str, str]] = []
    for child in el:
        name = local(child.tag)
        if name in _DETAIL_KNOWN:
            known[_DETAIL_KNOWN.index(name)] = None if nils and is_nil(child) else child.text or ""
        elif name and len(child) == 0:
            other.append((name, child.text or ""))
    publish_type, email_setting, http_completion_url = known
    return JobDetail(local(el.tag), publish_type, email_setting, http_completion_url, tuple(other))


def task_item_arrays(els: Sequence[etree._Element], nils: bool) -> list[tuple[TaskItemProgress, ...]]:
    """The items of many tasks' `taskItemProgressArray`, each item's simple children as name/text pairs."""
    per_task = item_lists(els)
    all_items = list(chain.from_iterable(per_task))
    kids, spans = _spans(all_items)
    names = list(map(_NAMES.__getitem__, map(_TAG, kids)))
    if "" in names or any(map(len, kids)):  # comments, or children with children: item by item
        found = [TaskItemProgress(simple_pairs(item)) for item in all_items]
    else:
        texts = list(map(_TEXT, kids))
        pairs = list(zip(names, [text or "" for text in texts] if None in texts else texts, strict=True))
        found = _task_items([list(map(tuple, map(pairs.__getitem__, spans)))], len(spans))
    found_items = iter(found)
    return [tuple(islice(found_items, len(task))) for task in per_task]


def simple_pairs(el: etree._Element) -> tuple[tuple[str, str], ...]:
    """The name and text of each child of `el` that has a name and no children: the reference."""
    return tuple((local(c.tag), c.text or "") for c in el if local(c.tag) and len(c) == 0)
