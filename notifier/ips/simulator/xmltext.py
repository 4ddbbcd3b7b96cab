"""Model objects as the XML text lxml would serialize for them, byte for byte, without building a tree.

A 50,000-job poll cycle renders some 850,000 elements, and an lxml tree costs several times more per element
than a string. So `render` writes text, and this module keeps it identical to lxml's: the envelope around
the body is serialized by lxml itself (once per operation, version and prefix), element names are checked
by lxml once each, and text is escaped and refused exactly as lxml escapes and refuses it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from lxml import etree

from notifier.ips.envelope import SOAP_ENV, api_namespace
from notifier.ips.schema import (
    ACTIVE_JOB_FIELDS,
    ARRAY_TYPES,
    COMPANY_FIELDS,
    JOB_DETAIL_FIELDS,
    JOB_LOG_FIELDS,
    SCHEDULED_JOB_FIELDS,
    Field,
)
from notifier.models import ActiveJob, Company, JobDetail, JobLog, ScheduledJob, TaskItemProgress

Prefix = str | None


def format_lexical(value: Any, xsd_type: str) -> str:
    """xsd lexical form: `INF`/`NaN` for doubles, offsets on every dateTime, lower-case booleans."""
    return _LEXICAL.get(xsd_type, str)(value)


def _boolean(value: Any) -> str:
    return "true" if value else "false"


def _date_time(value: Any) -> str:
    when: datetime = value
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat()


def _double(value: Any) -> str:
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "INF" if number > 0 else "-INF"
    return repr(number)


_LEXICAL: dict[str, Callable[[Any], str]] = {"boolean": _boolean, "dateTime": _date_time, "double": _double}

# Characters XML 1.0 cannot carry; lxml refuses them (lone surrogates fail later, when encoding to UTF-8).
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_FORBIDDEN_MESSAGE = "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters"


def _escape(text: str) -> str:
    """Element text as lxml serializes it: `&`, `<`, `>` and CR as references, all else verbatim."""
    if _SPECIAL.search(text) is None:
        return text
    if _FORBIDDEN.search(text) is not None:
        raise ValueError(_FORBIDDEN_MESSAGE)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _text(value: Any) -> str:
    return _escape(str(value))


@lru_cache(maxsize=256)
def _checked_name(name: str) -> str:
    """`name` once lxml has accepted it as an element name, raising its ValueError otherwise."""
    etree.Element(f"{{{SOAP_ENV}}}{name}")
    return name


# (attribute, text of a value or None for an array, open tag, close tag, empty tag, array items or None)
Slot = tuple[str, Callable[[Any], str] | None, str, str, str, tuple[str, "tuple[Slot, ...] | None"] | None]


class Writer:
    """Writes model objects as XML text in the body namespace, with one prefix (None: the default namespace).

    Every method appends to `out`, a list of strings joined once per response.
    """

    def __init__(self, prefix: Prefix) -> None:
        self.prefix = prefix
        self.active_job = self._compile(ACTIVE_JOB_FIELDS)
        self.detail_slots = self._compile(JOB_DETAIL_FIELDS)
        self.job_log = self._compile(JOB_LOG_FIELDS)
        self.company_info = self._compile(COMPANY_FIELDS)
        self.scheduled_job = self._compile(SCHEDULED_JOB_FIELDS)

    def tags(self, name: str) -> tuple[str, str, str]:
        """Open, close and empty tags of a body element."""
        qualified = f"{self.prefix}:{name}" if self.prefix else name
        return f"<{qualified}>", f"</{qualified}>", f"<{qualified}/>"

    def _compile(self, fields: tuple[Field, ...]) -> tuple[Slot, ...]:
        slots: list[Slot] = []
        for name, attr, xsd_type in fields:
            items = None
            if xsd_type in ARRAY_TYPES:
                item_name, item_fields = ARRAY_TYPES[xsd_type]
                items = (item_name, None if item_fields is None else self._compile(item_fields))
            text = None if items is not None else _LEXICAL.get(xsd_type, _text)
            slots.append((attr, text, *self.tags(name), items))
        return tuple(slots)

    def document(self, operation: str, wrapper: str, api_version: str, write: Callable[[list[str], Any], None],
                 content: Any) -> bytes:  # fmt: skip
        """The whole response: lxml's envelope around `<wrapper>`, whose children `write` adds."""
        head, tail = _shell(operation, wrapper, api_version, self.prefix)
        out = [head, self.tags(wrapper)[0]]
        write(out, content)
        close(out, 1, self.tags(wrapper))
        out.append(tail)
        return "".join(out).encode("utf-8")

    def text(self, write: Callable[..., None], *args: Any) -> str:
        """What `write(out, *args)` appends, as one string."""
        out: list[str] = []
        write(out, *args)
        return "".join(out)

    def fields(self, out: list[str], obj: Any, slots: tuple[Slot, ...]) -> None:
        """Children for every field of `obj` that has a value, in table order; None and () are omitted."""
        for attr, text, open_tag, close_tag, empty_tag, items in slots:
            value = getattr(obj, attr)
            if value is None or value == ():
                continue
            if text is not None:
                out.append(f"{open_tag}{text(value)}{close_tag}")
                continue
            assert items is not None
            start = len(out)
            out.append(open_tag)
            item_tags, item_slots = self.tags(items[0]), items[1]
            for item in value:
                self.element(out, item_tags, item, item_slots)
            close(out, start, (open_tag, close_tag, empty_tag))

    def element(self, out: list[str], tags: tuple[str, str, str], obj: Any, slots: tuple[Slot, ...] | None) -> None:
        """`obj` as an element with the fields in `slots` (None: a TaskItemProgress's free-form pairs)."""
        start = len(out)
        out.append(tags[0])
        if slots is not None:
            self.fields(out, obj, slots)
        else:
            assert isinstance(obj, TaskItemProgress)
            self.pairs(out, obj.fields)
        close(out, start, tags)

    def pairs(self, out: list[str], pairs: tuple[tuple[str, str], ...]) -> None:
        for name, text in pairs:
            open_tag, close_tag, empty_tag = self.tags(_checked_name(name))
            out.append(empty_tag if text is None else f"{open_tag}{_escape(text)}{close_tag}")

    def active_jobs(self, out: list[str], jobs: Iterable[ActiveJob]) -> None:
        tags = self.tags("items")
        for job in jobs:
            start = len(out)
            out.append(tags[0])
            self.fields(out, job, self.active_job)
            if job.detail is not None:
                self.job_detail(out, job.detail)
            close(out, start, tags)

    def job_detail(self, out: list[str], detail: JobDetail) -> None:
        """The job-type detail, named for its kind: its fields, then whatever else the server sent."""
        tags = self.tags(_checked_name(detail.kind))
        start = len(out)
        out.append(tags[0])
        self.fields(out, detail, self.detail_slots)
        self.pairs(out, detail.other)
        close(out, start, tags)

    def job_logs(self, out: list[str], logs: Iterable[JobLog]) -> None:
        tags = self.tags("items")
        for log in logs:
            self.element(out, tags, log, self.job_log)

    def scheduled_jobs(self, out: list[str], jobs: Iterable[ScheduledJob]) -> None:
        tags = self.tags("items")
        for job in jobs:
            self.element(out, tags, job, self.scheduled_job)

    def company(self, out: list[str], company: Company) -> None:
        self.fields(out, company, self.company_info)


def close(out: list[str], start: int, tags: tuple[str, str, str]) -> None:
    """Close the element opened at `out[start]`, or make it self-closing if nothing was written inside."""
    if len(out) == start + 1:
        out[start] = tags[2]
    else:
        out.append(tags[1])


@lru_cache(maxsize=8)
def writer(prefix: Prefix) -> Writer:
    """The writer for a prefix; its tables are compiled once."""
    return Writer(prefix)


@lru_cache(maxsize=64)
def _shell(operation: str, wrapper: str, api_version: str, prefix: Prefix) -> tuple[str, str]:
    """lxml's serialization of the response around an empty `<wrapper/>`, split at it: declaration,
    namespace declarations and any error for a bad version or prefix are lxml's own."""
    ns = api_namespace(api_version)
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soapenv": SOAP_ENV})
    body = etree.SubElement(env, f"{{{SOAP_ENV}}}Body")
    nsmap: dict[Any, str] = {prefix: ns}  # a None key declares the default namespace (the stubs say str only)
    ret = etree.SubElement(body, f"{{{ns}}}{operation}Return", nsmap=nsmap)
    etree.SubElement(ret, f"{{{ns}}}{wrapper}")
    head, empty, tail = serialize(env).decode("utf-8").partition(writer(prefix).tags(wrapper)[2])
    if not empty:  # lxml would not bind the body to this prefix (the reserved `xml`, say)
        raise ValueError(f"the body namespace cannot have the prefix {prefix!r}")
    return head, tail


def serialize(env: etree._Element) -> bytes:
    return bytes(etree.tostring(env, xml_declaration=True, encoding="UTF-8"))
