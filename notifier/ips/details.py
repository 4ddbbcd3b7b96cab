"""The notable lines (errors, failures, warnings) of a getJobLogDetails answer, without reading the rest of it.

A failed job's log holds up to a thousand lines, most of them `…Success` and `File…` lines no one is told
about; the daemon keeps its first few errors and warnings. `notable_details` picks those lines out of the
tree with one C-level XPath and converts only them; `notable_details_reference` reads the whole answer and
filters it, and is what the fast path is held to. Whatever is unusual (xsi:nil anywhere, a log with two
`detailArray`s, a line with two `logType`s or one holding more than text) is read by the reference.
"""

from __future__ import annotations

import operator
import re
from itertools import accumulate, chain, compress

from lxml import etree

from notifier.ips.envelope import DEFAULT_MAX_BYTES, find_child, response_element
from notifier.ips.parse import LOG_DETAIL, collector_paused, parse_job_log_details
from notifier.ips.values import items, local, may_have_nils
from notifier.models import ERROR_MARKERS, WARNING_MARKER, JobLogDetail

# The lines the job tracker classifies as errors or warnings, and no others.
NOTABLE_MARKERS = (*ERROR_MARKERS, WARNING_MARKER)
_MARKED = re.compile("|".join(NOTABLE_MARKERS)).search
_TAG, _TEXT = operator.attrgetter("tag"), operator.attrgetter("text")


def is_notable(detail: JobLogDetail) -> bool:
    """An error, failure or warning line: what a failed or warned job's event carries."""
    log_type = detail.log_type or ""
    return any(marker in log_type for marker in NOTABLE_MARKERS)


def notable_details_reference(
    data: bytes, max_bytes: int = DEFAULT_MAX_BYTES, namespace: str | None = None, *, limit: int
) -> list[JobLogDetail]:
    """Every log of the answer read in full, then its first `limit` notable lines, in document order."""
    lines = [d for entry in parse_job_log_details(data, max_bytes, namespace) for d in entry.details if is_notable(d)]
    return lines[:limit]


def notable_details(
    data: bytes, max_bytes: int = DEFAULT_MAX_BYTES, namespace: str | None = None, *, limit: int
) -> list[JobLogDetail]:
    """The same as `notable_details_reference`, converting only the lines it returns.

    Lines that are not returned are not converted either, so a malformed value in one of them no longer fails
    the call: the job's event keeps the errors and warnings that could be read.
    """
    with collector_paused():  # no collection scans the tree's short-lived proxies
        ret = response_element(data, "getJobLogDetails", max_bytes, namespace)
        chosen: list[etree._Element] | None = [] if not may_have_nils(ret, data) else None
        for entry in items(find_child(ret, "jobLogArray")):
            if chosen is None or len(chosen) >= limit:
                break
            found = _notable_lines(entry)
            chosen = None if found is None else chosen + found
        if chosen is None:
            return notable_details_reference(data, max_bytes, namespace, limit=limit)
        return LOG_DETAIL.many(chosen[:limit], False)


def _notable_lines(entry: etree._Element) -> list[etree._Element] | None:
    """The notable lines of one log, found with C-level passes over its lines' children; None when anything is
    unusual (two `detailArray`s, a line without exactly one `logType`, a type holding more than text)."""
    arrays = [child for child in entry if local(child.tag) == "detailArray"]
    if len(arrays) != 1:
        return [] if not arrays else None
    lines = items(arrays[0])
    kids: list[etree._Element] = list(chain.from_iterable(lines))
    tags = list(map(_TAG, kids))
    named = [tag for tag in set(tags) if local(tag) == "logType"]
    if not lines:
        return []
    if len(named) != 1 or tags.count(named[0]) != len(lines):
        return None
    ends = list(accumulate(map(len, lines)))
    where = list(compress(range(len(tags)), map(named[0].__eq__, tags)))
    # One type per line: as many as lines, and the i-th inside the i-th line's children.
    if not all(map(operator.lt, where, ends)) or not all(map(operator.ge, where, [0, *ends[:-1]])):
        return None
    types = list(map(kids.__getitem__, where))
    if any(map(len, types)):
        return None
    texts = [text or "" for text in map(_TEXT, types)]
    return list(compress(lines, map(_MARKED, texts)))
