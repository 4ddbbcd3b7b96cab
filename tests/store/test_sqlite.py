"""The SQLite store: notifications are idempotent by key, alert state round-trips, the outbox is operable."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from notifier.engine.book import Alert
from notifier.ingest.schedules.state import ScheduleState
from notifier.models import ActiveJob, CompanyRef, Event, ScheduledJob
from notifier.models.codec import encode_notification
from notifier.store.bodies import Bodies
from notifier.store.protocol import Store
from notifier.store.records import DEAD, PENDING, SILENCED, Destination, Outgoing
from notifier.store.sqlite.store import SqliteStore
from tests.support.store import BACKENDS, NOW, due, notification, settle


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_same_key_is_committed_once(store: Store) -> None:
    """Committing a notification whose key exists is ignored: a replayed decision never sends twice."""
    item = Outgoing(notification(), (Destination("hook"), Destination("slack")))
    assert await store.commit([item], [], [], NOW) == ["msg_1"]
    assert await store.commit([item], [], [], NOW) == []
    rows = await due(store, NOW.timestamp(), 10)
    assert sorted(r.channel for r in rows) == ["hook", "slack"]


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_notification_round_trips_exactly(store: Store) -> None:
    """What is stored is what is sent: the notification read back equals the one committed."""
    await store.commit([Outgoing(notification(), (Destination("hook", ("a@example.com",)),))], [], [], NOW)
    [row] = await due(store, NOW.timestamp(), 10)
    assert row.notification == notification()
    assert row.recipients == ("a@example.com",)


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_deliveries_are_independent(store: Store) -> None:
    """Marking one channel delivered leaves the other pending."""
    await store.commit([Outgoing(notification(), (Destination("hook"), Destination("slack")))], [], [], NOW)
    hook, slack = sorted(await due(store, NOW.timestamp(), 10), key=lambda r: r.channel)
    await settle(store, hook, "delivered", attempts=1, next_at=NOW.timestamp(), error=None, now=NOW)
    assert [r.channel for r in await due(store, NOW.timestamp(), 10)] == [slack.channel]


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_retry_is_not_due_before_its_time(store: Store) -> None:
    """A row scheduled for later is not handed out early, and next_due_at says when it will be."""
    await store.commit([Outgoing(notification(), (Destination("hook"),))], [], [], NOW)
    [row] = await due(store, NOW.timestamp(), 10)
    later = NOW.timestamp() + 60
    await settle(store, row, PENDING, attempts=1, next_at=later, error="HTTP 503", now=NOW)
    assert await due(store, NOW.timestamp() + 59, 10) == []
    assert await store.next_due_at() == later
    assert len(await due(store, later, 10)) == 1


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_silenced_targets_are_kept_but_not_due(store: Store) -> None:
    """A silenced delivery is stored and listed, never handed to the dispatcher, and can be retried by hand."""
    item = Outgoing(notification(), (Destination("hook", silenced_by="s1"),))
    await store.commit([item], [], [], NOW)
    assert await due(store, NOW.timestamp(), 10) == []
    [row] = await store.list_deliveries([SILENCED])
    assert await store.silenced_counts() == {"s1": 1}
    assert await store.retry(row.id, NOW)
    assert len(await due(store, NOW.timestamp(), 10)) == 1


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_dead_letters_list_retry_and_purge(store: Store) -> None:
    """Dead rows are listed, can be re-queued, and purged."""
    await store.commit([Outgoing(notification(), (Destination("hook"),))], [], [], NOW)
    [row] = await due(store, NOW.timestamp(), 10)
    await settle(store, row, DEAD, attempts=1, next_at=NOW.timestamp(), error="HTTP 400", now=NOW)
    assert [r.last_error for r in await store.list_deliveries([DEAD])] == ["HTTP 400"]
    assert (await store.stats()).dead == 1
    assert await store.purge([DEAD]) == 1
    assert (await store.stats()).dead == 0


async def test_alert_state_round_trips(store: SqliteStore) -> None:
    """Alerts with their last event survive a close and reopen of the file."""
    event = Event("job.active", NOW, CompanyRef("47"), ActiveJob(job_handle="47||A"), stalled_seconds=1000.0)
    alert = Alert("stalled", "47", "47||A", "firing", NOW, last_sent=NOW, sends=1, event=event)
    await store.commit([], [alert], [], NOW)
    reopened = await SqliteStore.open(store.path)
    try:
        assert await reopened.load_alerts() == [alert]
        await reopened.commit([], [], [alert.id], NOW)
        assert await reopened.load_alerts() == []
    finally:
        await reopened.close()


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_silences_add_list_expire(store: Store) -> None:
    """A silence is active until its end, and expiring it ends it now."""
    silence = await store.add_silence([("company", "47")], NOW, NOW + timedelta(hours=2), "maintenance", "ops")
    [listed] = await store.silences()
    assert listed == silence
    assert listed.active(NOW + timedelta(hours=1))
    assert await store.expire_silence(silence.id, NOW + timedelta(minutes=5))
    [expired] = await store.silences()
    assert not expired.active(NOW + timedelta(minutes=10))


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_one_batch_keeps_the_first_of_each_key_and_skips_stored_ones(store: Store) -> None:
    """In one commit, a key stored before and a key repeated within the batch are each left out once."""
    await store.commit([Outgoing(notification("msg_old"), (Destination("hook"),))], [], [], NOW)
    batch = [
        Outgoing(notification("msg_old", "again"), (Destination("hook"),)),
        Outgoing(notification("msg_new", "first"), (Destination("hook"),)),
        Outgoing(notification("msg_new", "second"), (Destination("slack"),)),
    ]
    assert await store.commit(batch, [], [], NOW) == ["msg_new"]
    rows = await due(store, NOW.timestamp(), 10)
    assert sorted((r.notification.key, r.notification.message.title, r.channel) for r in rows) == [
        ("msg_new", "first", "hook"),
        ("msg_old", "Job A failed", "hook"),
    ]


async def test_rows_read_the_same_whether_their_notification_was_remembered_or_decoded(tmp_path: Path) -> None:
    """The process that committed a notification reads it from memory; another decodes it: same rows."""
    committing = await SqliteStore.open(tmp_path / "state.db")
    try:
        await committing.commit([Outgoing(notification(), (Destination("hook"), Destination("slack")))], [], [], NOW)
        remembered = await due(committing, NOW.timestamp(), 10)
        reader = await SqliteStore.open(tmp_path / "state.db")
        try:
            assert await due(reader, NOW.timestamp(), 10) == remembered
        finally:
            await reader.close()
    finally:
        await committing.close()
    assert remembered[0].notification is remembered[1].notification  # one object, never decoded


def test_remembered_bodies_are_bounded() -> None:
    """Only the most recent notifications are kept; older ones are decoded from the stored text again."""
    bodies = Bodies(capacity=2)
    bodies.remember(notification(f"msg_{i}") for i in range(3))
    text = encode_notification(notification("msg_0"))
    assert bodies.read("msg_0", text) == notification("msg_0")
    assert bodies.read("msg_0", text) is not bodies.read("msg_0", text)  # decoded each time: forgotten
    assert bodies.read("msg_2", "{}") is bodies.read("msg_2", "{}")  # remembered: the text is not even read


async def test_schedule_marks_round_trip_and_replace_a_company_s_whole_set(store: SqliteStore) -> None:
    """What a company's schedule watch knew survives a reopen; a later save of that company replaces all of it
    (a schedule gone is gone), and other companies' marks stay."""
    nightly = ScheduledJob(job_handle="47||Nightly", name="Nightly", next_fire_time=NOW, time_zone="Europe/Berlin")
    state = ScheduleState(nightly, judged_from=NOW, next_fire=NOW, due=NOW, cover_from=NOW, reason="no_run",
                          missed=NOW, last_run=NOW - timedelta(days=1), last_run_job="47||Nightly_x")  # fmt: skip
    other = ScheduleState(replace(nightly, job_handle="118||Feed"), judged_from=NOW, failed=True)
    await store.save_schedule_marks({"47": {"47||Nightly": state, "47||Old": state}, "118": {"118||Feed": other}})
    await store.save_schedule_marks({"47": {"47||Nightly": state}})
    reopened = await SqliteStore.open(store.path)
    try:
        assert await reopened.schedule_marks() == {"47": {"47||Nightly": state}, "118": {"118||Feed": other}}
    finally:
        await reopened.close()
