"""Arrays read the fast way give what the simple reference reading gives, however the server shapes them.

The reference reads each item on its own, child by child (`FieldReader.values`, `read_job_detail`,
`simple_pairs`). The responses here are rendered jobs and logs, then reshaped as servers may: children shuffled,
duplicated, emptied, given children of their own, unknown elements added, `item` for `items`, CDATA, comments,
another prefix, a bad value somewhere, xsi:nil.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from notifier.ips import details, parse, reader
from notifier.ips.envelope import parse_xml, response_element
from notifier.ips.errors import IpsParseError
from notifier.ips.freeform import DetailReader, read_job_detail, simple_pairs, task_item_arrays
from notifier.ips.reader import FieldReader
from notifier.ips.simulator import answers as render
from notifier.ips.values import XSI_NIL, item_lists, items, may_have_nils
from notifier.models import JOB_DETAIL_KINDS, JobLog, JobLogDetail, TaskItemProgress
from tests.support.ips import active_jobs, instants, job_logs, log_details, opt, xml_text

VERSION = "2014-04-03"
MANY = settings(max_examples=2 * settings().max_examples)  # the profile's sweep, twice: cases are small
XSI = XSI_NIL[1 : XSI_NIL.index("}")]


ACTIONS = ("shuffle", "duplicate", "empty", "nest", "unknown", "cdata", "comment", "bad", "nil", "blank")
# What to do where: (item, action, child, another child), positions taken modulo what is there.
edits = st.lists(st.tuples(st.integers(0, 9), st.sampled_from(ACTIONS), st.integers(0, 40), st.integers(0, 40)),
                 max_size=8)  # fmt: skip


def _reshape(item: etree._Element, action: str, at: int, other: int) -> None:
    """Take one of the liberties a server may take with one item's children."""
    kids = [kid for kid in item.iter() if isinstance(kid.tag, str)][1:]
    if not kids:
        return
    kid = kids[at % len(kids)]
    namespace = etree.QName(kid).namespace
    if action == "shuffle":
        item.append(item[at % len(item)])
    elif action == "duplicate":
        twin = copy.deepcopy(kid)
        twin.text = ("", "7", "other", None)[other % 4]
        parent = kid.getparent()
        assert parent is not None
        parent.insert(other % (len(parent) + 1), twin)
    elif action == "empty":
        kid.text = None
    elif action == "nest":
        etree.SubElement(kid, f"{{{namespace}}}inner").text = "x"
    elif action == "unknown":
        etree.SubElement(item, f"{{{namespace}}}fromANewerVersion").text = "?"
    elif action == "cdata":
        kid.text = etree.CDATA((kid.text or "c").replace("]]>", ""))
    elif action == "comment":
        kid.append(etree.Comment("a comment"))
    elif action == "bad":
        kid.text = ("x1", "2026-99-01", " 5 ", "1.5E3")[other % 4]
    elif action == "nil":
        kid.set(XSI_NIL, "true")
    else:
        kid.text = "  "


def _responses(body: bytes, changes: list[tuple[int, str, int, int]], singular: bool) -> bytes:
    """`body` with its items reshaped, maybe each called `item`."""
    root = etree.fromstring(body)
    array = next(root.iter("{*}jobArray", "{*}jobLogArray"))
    if len(array):
        for which, action, at, other in changes:
            _reshape(array[which % len(array)], action, at, other)
    if singular:
        for item in array:
            item.tag = item.tag.replace("}items", "}item")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _reference(body: bytes, operation: str, wrapper: str, reader: FieldReader[Any]) -> list[Any] | str:
    """Each item read on its own, element by element (every nested array too), in document order."""
    ret = response_element(body, operation)
    array = next((c for c in ret if etree.QName(c).localname == wrapper), None)
    try:
        return [reader._build(reader.values(el, nils=True)) for el in items(array)]
    except IpsParseError as exc:
        return f"error: {exc}"


def _fast(parser: Callable[[bytes], list[Any]], body: bytes) -> list[Any] | str:
    try:
        return parser(body)
    except IpsParseError as exc:
        return f"error: {exc}"


@MANY
@given(st.lists(active_jobs, max_size=5), st.sampled_from(["ns1", "p", None]), edits, st.booleans())
def test_active_jobs_read_as_the_reference_reads_them(
    jobs: list[Any], prefix: str | None, changes: list[Any], singular: bool
) -> None:
    """getActiveJobs, reshaped at will, reads as each item read on its own does: values or the same error."""
    body = _responses(render.render_active_jobs(jobs, VERSION, prefix), changes, singular)
    assert _fast(parse.parse_active_jobs, body) == _reference(body, "getActiveJobs", "jobArray", parse.ACTIVE_JOB)


@MANY
@given(st.lists(job_logs, max_size=4), edits, st.booleans())
def test_job_logs_read_as_the_reference_reads_them(logs: list[Any], changes: list[Any], singular: bool) -> None:
    """getJobLogDetails (logs, their lines and aux entries), reshaped at will, reads as the reference reads it."""
    body = _responses(render.render_job_log_details(logs, VERSION), changes, singular)
    assert _fast(parse.parse_job_log_details, body) == _reference(
        body, "getJobLogDetails", "jobLogArray", parse.JOB_LOG
    )


LOG_TYPES = ("UploadError", "ImageServingPublishWarning", "FatalError", "UploadFailure", "UploadSuccess", "FileBegin",
             "", None)  # fmt: skip
typed_lines = st.tuples(log_details, st.sampled_from(LOG_TYPES)).map(lambda pair: replace(pair[0], log_type=pair[1]))
logs_with_lines = st.builds(JobLog, job_handle=opt(xml_text), start_date=opt(instants),
                            details=st.lists(typed_lines, max_size=6).map(tuple))  # fmt: skip


@MANY
@given(st.lists(logs_with_lines, max_size=3), edits, st.booleans(), st.integers(0, 5))
def test_notable_details_are_the_references(logs: list[JobLog], changes: list[Any], singular: bool, limit: int) -> None:
    """The error and warning lines picked out of getJobLogDetails, reshaped at will, are the ones the full reading
    and filtering gives; only a value that cannot be read in something not picked fails the reference alone."""
    body = _responses(render.render_job_log_details(logs, VERSION), changes, singular)
    fast = _fast(lambda data: details.notable_details(data, limit=limit), body)
    reference = _fast(lambda data: details.notable_details_reference(data, limit=limit), body)
    if isinstance(fast, str):
        assert isinstance(reference, str)
    elif isinstance(reference, str):
        assert len(fast) <= limit
        assert all(isinstance(line, JobLogDetail) and details.is_notable(line) for line in fast)
    else:
        assert fast == reference


@MANY
@given(st.lists(active_jobs, min_size=1, max_size=8), edits, st.integers(1, 4))
def test_an_array_read_in_chunks_reads_as_the_reference(jobs: list[Any], changes: list[Any], chunk: int) -> None:
    """A big answer is read a chunk of items at a time (so a thread reading it hands the interpreter over between
    chunks); with chunks of one to four items, any answer reads as the reference reads it, errors included."""
    body = _responses(render.render_active_jobs(jobs, VERSION), changes, False)
    expected = _reference(body, "getActiveJobs", "jobArray", parse.ACTIVE_JOB)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reader, "CHUNK", chunk)
        assert _fast(parse.Parser().active_jobs, body) == expected


def _details_and_tasks(body: bytes) -> tuple[list[etree._Element], list[etree._Element]]:
    root = parse_xml(body)
    details = [el for el in root.iter() if etree.QName(el).localname in JOB_DETAIL_KINDS]
    tasks = [el for el in root.iter() if etree.QName(el).localname == "taskItemProgressArray"]
    return details, tasks


@MANY
@given(st.lists(active_jobs, min_size=1, max_size=5), edits)
def test_details_and_task_items_read_as_one_at_a_time(jobs: list[Any], changes: list[Any]) -> None:
    """Job details (cached by value) and task items, many at a time, equal each read on its own, twice over."""
    body = _responses(render.render_active_jobs(jobs, VERSION), changes, False)
    details, tasks = _details_and_tasks(body)
    reader = DetailReader()
    for _ in range(2):  # the second time from what the first remembered
        by_kind: dict[str, list[etree._Element]] = {}
        for el in details:
            by_kind.setdefault(el.tag, []).append(el)
        for same in by_kind.values():
            assert reader(same, False) == [read_job_detail(el, False) for el in same]
    expected = [tuple(TaskItemProgress(simple_pairs(i)) for i in items(t)) for t in tasks]
    assert task_item_arrays(tasks, False) == expected
    assert item_lists(tasks) == [items(t) for t in tasks]


@MANY
@given(st.lists(active_jobs, max_size=3), st.data())
def test_the_nil_shortcut_agrees_with_the_scan(jobs: list[Any], data: st.DataObject) -> None:
    """Looking at the bytes for a nil attribute says what scanning the tree says, wherever one is written."""
    body = render.render_active_jobs(jobs, VERSION)
    if data.draw(st.booleans()):
        prefix = data.draw(st.sampled_from([b"xsi", b"i", b"nil"]))
        spaces = data.draw(st.sampled_from([b"", b" ", b"\n  \t"]))
        declared = b" xmlns:" + prefix + b'="' + XSI.encode() + b'" ' + prefix + b":nil" + spaces + b'="true"'
        body = body.replace(b"<ns1:jobArray", b"<ns1:jobArray" + declared, 1)
    if data.draw(st.booleans()):
        body = body.replace(b"<ns1:jobArray", b'<ns1:jobArray a="b=c" nil2="x"', 1)
    ret = response_element(body, "getActiveJobs")
    assert may_have_nils(ret, body) == may_have_nils(ret)


def test_a_detail_whose_child_has_children_is_not_taken_for_an_equal_looking_one() -> None:
    """Two details alike in tags and texts, one of whose children has children of its own, read apart."""
    ns = "http://www.scene7.com/IpsApi/xsd/2014-04-03"
    body = f"""<r xmlns="{ns}"><videoPublishJob><emailSetting>All</emailSetting><contextHandle>c</contextHandle>
      </videoPublishJob><videoPublishJob><emailSetting>All</emailSetting><contextHandle>c<inner/></contextHandle>
      </videoPublishJob></r>""".replace("\n      ", "")
    details = list(etree.fromstring(body))
    reader = DetailReader()
    expected = [read_job_detail(el, False) for el in details]
    assert expected[0] != expected[1]
    assert reader(details, False) == expected
    assert reader(details[:1], False) == expected[:1]
    assert reader(details[1:], False) == expected[1:]
