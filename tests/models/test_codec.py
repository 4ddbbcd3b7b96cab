"""Stored notification bodies: the fast encoder and decoder agree with the generic reference, byte for byte."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.models import (
    ActiveJob,
    CompanyRef,
    Event,
    GroupDigest,
    JobDetail,
    JobLog,
    Message,
    Notification,
    TaskProgress,
)
from notifier.models.codec import (
    Snapshots,
    decode_notification,
    encode_notification,
    notification_from_dict,
    notification_to_dict,
    to_jsonable,
)

TEXT = st.text(max_size=12)
SCALARS = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | TEXT
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-7, minutes=-30))])
WHEN = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=ZONES)
JSONISH = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3))
SNAPSHOT = st.dictionaries(TEXT, JSONISH | WHEN, max_size=6)  # datetimes left in, as a hand-built one may have
PAIRS = st.lists(st.tuples(TEXT, TEXT), max_size=3).map(tuple)
MESSAGES = st.builds(Message, TEXT, TEXT, TEXT, st.none() | TEXT, PAIRS, st.none() | TEXT, PAIRS)
NOTIFICATIONS = st.builds(
    Notification, TEXT, TEXT, TEXT, st.sampled_from(["firing", "resolved"]), TEXT, WHEN, SNAPSHOT,
    st.none() | SNAPSHOT, st.none() | SNAPSHOT, MESSAGES, st.lists(TEXT, max_size=3).map(tuple), TEXT,
)  # fmt: skip


FEW = settings(max_examples=40, deadline=None)


def reference_encode(notification: Notification) -> str:
    return json.dumps(notification_to_dict(notification), ensure_ascii=False)


def reference_decode(text: str) -> Notification:
    return notification_from_dict(json.loads(text))


@FEW
@given(NOTIFICATIONS)
def test_the_fast_encoder_writes_what_the_reference_writes(notification: Notification) -> None:
    """Same JSON text, whatever the snapshots hold (datetimes and nested values included)."""
    assert encode_notification(notification) == reference_encode(notification)


@FEW
@given(NOTIFICATIONS)
def test_the_fast_decoder_reads_what_the_reference_reads(notification: Notification) -> None:
    """A stored body decodes to the same notification through either decoder."""
    text = reference_encode(notification)
    assert decode_notification(text) == reference_decode(text)


def test_a_body_of_another_shape_is_left_to_the_general_decoder() -> None:
    """Unknown keys (a body written by a newer version) are ignored and missing optional parts defaulted."""
    body = {
        "key": "k", "rule": "r", "severity": "info", "status": "firing", "event_kind": "job.completed",
        "created_at": "2026-03-02T09:00:00", "company": {"handle": "47"}, "job": None, "log": None,
        "message": {"locale": "en-US", "title": "t", "text": "x", "colour": "red"}, "later": 1,
    }  # fmt: skip
    text = json.dumps(body)
    assert decode_notification(text) == reference_decode(text)
    assert decode_notification(text).created_at.tzinfo is UTC


@FEW
@given(NOTIFICATIONS)
def test_snapshots_convert_as_to_jsonable_does(notification: Notification) -> None:
    """A Snapshots converter, used again and again, gives what `to_jsonable` gives for every value."""
    snapshot = Snapshots()
    for _ in range(2):
        assert snapshot(notification) == to_jsonable(notification)
        assert snapshot(notification.company) == to_jsonable(notification.company)


def test_snapshots_of_a_job_event_match_to_jsonable() -> None:
    """Frozen models with nested models and tuples of them (a job with its detail and tasks, a log)."""
    when = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    job = ActiveJob(
        "47", "47||a", start_date=when,
        task_progress=(TaskProgress("VideoTranscode", 1, last_progress_update=when),),
        detail=JobDetail("videoPublishJob", other=(("x", "y"),)),
    )  # fmt: skip
    event = Event("job.failed", when, CompanyRef("47", "Planetary"), job, JobLog(job_handle="47||a", end_date=when))
    assert Snapshots()(event) == to_jsonable(event)


def test_the_fast_codec_knows_every_field_of_the_models() -> None:
    """The fast encoder and decoder name each field: one added to the models must be added to them too."""
    full = Notification(
        "k", "r", "info", "firing", "job.completed", datetime(2026, 3, 2, tzinfo=UTC), {"handle": "47"},
        {"job_handle": "47||a"}, {"job_handle": "47||a"},
        Message("en-US", "t", "x", "<p>x</p>", (("a", "b"),), "s", (("Status", "https://x"),)), ("d",), "alert_1",
    )  # fmt: skip
    assert {f.name for f in dataclasses.fields(Notification)} == set(notification_to_dict(full))
    assert set(json.loads(encode_notification(full))) == set(notification_to_dict(full))
    assert set(json.loads(encode_notification(full))["message"]) == {f.name for f in dataclasses.fields(Message)}
    assert decode_notification(encode_notification(full)) == full


def test_a_digest_with_its_alerts_round_trips_as_the_reference_writes_it() -> None:
    """A digest (nested notifications, a thread) is encoded as the reference encodes it and read back whole."""
    alert = Notification("msg_a", "r", "critical", "firing", "job.failed", datetime(2026, 1, 1, tzinfo=UTC),
                         {"handle": "47"}, {"job_handle": "47||A"}, None, Message("en-US", "A", "a"), ("x",),
                         "alert_a", None, "msg_first")  # fmt: skip
    group = GroupDigest("grp_1", (("company.handle", "47"),), (alert, alert), 2, 0, 1)
    digest = dataclasses.replace(alert, key="msg_d", event_kind="alert.group", thread="msg_d0", group=group)
    text = encode_notification(digest)
    assert text == reference_encode(digest)
    assert decode_notification(text) == digest == reference_decode(text)
