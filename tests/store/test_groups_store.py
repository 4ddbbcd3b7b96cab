"""Groups in the store: members collected instead of delivered, due times, digests flushed once, conversations."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from notifier.store.protocol import Store
from notifier.store.records import DELIVERED, DeliveryOutcome, Destination, GroupFlush, Grouping, Outgoing
from tests.support.store import BACKENDS, NOW, due, notification, settle, sqlite_store

GROUP = Grouping("grp_1", "failed-publish", (("company.handle", "47"),), wait=30.0, interval=300.0)
T0 = NOW.timestamp()


def member(n: int, status: str = "firing") -> Outgoing:
    """Notification `n`, webhook ungrouped and Slack grouped into GROUP."""
    item = replace(notification(f"msg_{n}"), status=status, alert_key=f"alert_{n}")
    return Outgoing(item, (Destination("hook"), Destination("slack", ("a@example.com",), group=GROUP)))


def digest(key: str) -> Outgoing:
    """A digest notification for Slack."""
    return Outgoing(replace(notification(key), event_kind="alert.group"), (Destination("slack"),))


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_grouped_destinations_wait_in_their_group(store: Store) -> None:
    """A grouped destination gets no delivery: the group is due `wait` later, holding every member."""
    await store.commit([member(1), member(2)], [], [], NOW)
    assert [r.channel for r in await due(store, T0 + 1000)] == ["hook", "hook"]
    assert await store.next_group_at() == T0 + 30
    assert await store.due_groups(T0 + 29, 100) == []
    [group] = await store.due_groups(T0 + 30, 100)
    assert [n.key for n in group.members] == ["msg_1", "msg_2"]
    assert group.labels == (("company.handle", "47"),)
    assert (group.channel, group.sent, group.thread, group.recipients) == ("slack", 0, None, ("a@example.com",))


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_a_flush_is_one_digest_and_happens_once(store: Store) -> None:
    """The digest is delivered like any notification; a second flush from the same read changes nothing."""
    await store.commit([member(1), member(2)], [], [], NOW)
    [group] = await store.due_groups(T0 + 30, 100)
    flush = GroupFlush(group.key, group.sent, digest("grp_1_1"), ("msg_1", "msg_2"), ("alert_1",), "grp_1_1")
    assert await store.flush_group(flush, T0 + 30)
    assert not await store.flush_group(flush, T0 + 30)
    assert [r.notification.key for r in await due(store, T0 + 30, channel="slack")] == ["grp_1_1"]
    assert await store.next_group_at() is None


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_after_a_digest_new_members_wait_for_the_interval(store: Store) -> None:
    """Members joining after a digest are due `interval` after it; those of a group idle longer wait `wait`."""
    await store.commit([member(1)], [], [], NOW)
    [group] = await store.due_groups(T0 + 30, 100)
    await store.flush_group(GroupFlush(group.key, 0, digest("d1"), ("msg_1",), (), None), T0 + 30)
    await store.commit([member(2)], [], [], NOW + timedelta(seconds=60))
    assert await store.next_group_at() == T0 + 330
    [group] = await store.due_groups(T0 + 330, 100)
    await store.flush_group(GroupFlush(group.key, 1, digest("d2"), ("msg_2",), (), None), T0 + 330)
    await store.commit([member(3)], [], [], NOW + timedelta(seconds=1000))
    assert await store.next_group_at() == T0 + 1030


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_members_beyond_one_digest_are_due_at_once(store: Store) -> None:
    """A group holding more than a digest takes leaves the rest due immediately, in order."""
    await store.commit([member(n) for n in range(5)], [], [], NOW)
    [group] = await store.due_groups(T0 + 30, 2)
    assert [n.key for n in group.members] == ["msg_0", "msg_1"]
    await store.flush_group(GroupFlush(group.key, 0, digest("d1"), ("msg_0", "msg_1"), (), None, more=True), T0 + 30)
    [group] = await store.due_groups(T0 + 30, 2)
    assert [n.key for n in group.members] == ["msg_2", "msg_3"]


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_members_joining_while_a_digest_is_made_wait_the_interval(store: Store) -> None:
    """A member committed between reading a due group and flushing it is not sent at once: it waits the interval."""
    await store.commit([member(1)], [], [], NOW)
    [group] = await store.due_groups(T0 + 30, 100)
    await store.commit([member(2)], [], [], NOW + timedelta(seconds=30))
    await store.flush_group(GroupFlush(group.key, 0, digest("d1"), ("msg_1",), (), None), T0 + 30)
    assert await store.next_group_at() == T0 + 330


async def test_group_state_survives_a_restart(tmp_path: Path) -> None:
    """Members and due times are in the file: a second process finds the group due with the same members."""
    path = tmp_path / "state.db"
    async with sqlite_store(path) as first:
        await first.commit([member(1), member(2)], [], [], NOW)
    async with sqlite_store(path) as second:
        [group] = await second.due_groups(T0 + 30, 100)
        assert [n.key for n in group.members] == ["msg_1", "msg_2"]


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_a_reply_carries_the_conversation_of_the_message_it_answers(store: Store) -> None:
    """The conversation recorded with a firing's delivery comes with its resolution's row on that channel."""
    firing = Outgoing(notification("msg_f"), (Destination("slack"),))
    resolved = Outgoing(replace(notification("msg_r"), status="resolved", thread="msg_f"), (Destination("slack"),))
    await store.commit([firing], [], [], NOW)
    await store.commit([resolved], [], [], NOW)
    [row] = await due(store, T0)  # the reply waits while the message it answers is pending
    assert row.notification.key == "msg_f"
    conversation = '{"channel": "C1", "ts": "1.000100"}'
    outcome = DeliveryOutcome(row.id, "slack", DELIVERED, 1, T0, None, conversation=conversation)
    await store.record([outcome], NOW)
    [reply] = await due(store, T0)
    assert (reply.notification.key, reply.conversation) == ("msg_r", conversation)
    await settle(store, reply, DELIVERED, now=NOW)


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_retention_keeps_notifications_a_group_still_holds(store: Store) -> None:
    """Forgetting old rows never drops a notification that waits in a group for its digest."""
    await store.commit([member(1)], [], [], NOW)
    [row] = await due(store, T0)
    await settle(store, row, DELIVERED, now=NOW)
    await store.forget_before(NOW + timedelta(days=30))
    [group] = await store.due_groups(T0 + 30, 100)
    assert [n.key for n in group.members] == ["msg_1"]


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_operators_see_what_waits_in_each_group_and_when_its_digest_is_due(store: Store) -> None:
    """Waiting members are listed with their group, channel and due time; the group with its count and age."""
    later = Grouping("grp_2", "stalled", (), wait=600.0, interval=600.0)
    stalled = replace(notification("msg_9"), rule="stalled")
    await store.commit([member(1), member(2)], [], [], NOW)
    await store.commit([Outgoing(stalled, (Destination("mail", ("b@example.com",), group=later),))], [], [],
                       NOW + timedelta(seconds=5))  # fmt: skip
    first, second = await store.waiting_groups()
    assert (first.key, first.rule, first.channel, first.members, first.since, first.due_at, first.sent) == (
        "grp_1", "failed-publish", "slack", 2, T0, T0 + 30, 0)  # fmt: skip
    assert first.labels == (("company.handle", "47"),)
    assert (second.key, second.channel, second.members, second.since, second.due_at) == (
        "grp_2", "mail", 1, T0 + 5, T0 + 605)  # fmt: skip
    waiting = await store.waiting_members()
    assert [(w.group, w.channel, w.notification.key, w.due_at) for w in waiting] == [
        ("grp_1", "slack", "msg_1", T0 + 30), ("grp_1", "slack", "msg_2", T0 + 30), ("grp_2", "mail", "msg_9", T0 + 605)
    ]  # fmt: skip
    assert waiting[2].recipients == ("b@example.com",)
    assert waiting[0].notification.message.title == "Job A failed"
    assert [w.notification.key for w in await store.waiting_members(limit=1)] == ["msg_1"]


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_a_digest_takes_its_members_out_of_the_waiting_list(store: Store) -> None:
    """After its digest a group is no longer waiting (an empty group is not listed); its digest is a delivery."""
    await store.commit([member(1)], [], [], NOW)
    [group] = await store.due_groups(T0 + 30, 100)
    await store.flush_group(GroupFlush(group.key, 0, digest("d1"), ("msg_1",), (), None), T0 + 30)
    assert await store.waiting_groups() == []
    assert await store.waiting_members() == []
    assert (await store.stats()).pending == 2  # the webhook's own delivery and the digest


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_members_a_silence_holds_back_leave_their_group_as_silenced_deliveries(store: Store) -> None:
    """A flush that holds members back stores each as a silenced delivery (counted for its silence); with no
    digest at all it keeps the time of the last digest but is still applied only once."""
    silence = await store.add_silence([("channel", "slack")], NOW, NOW + timedelta(hours=1), "quiet", "ops")
    await store.commit([member(1), member(2)], [], [], NOW)
    [group] = await store.due_groups(T0 + 30, 100)
    held = (("msg_1", silence.id), ("msg_2", silence.id))
    flush = GroupFlush(group.key, group.sent, None, (), (), None, silenced=held)
    assert await store.flush_group(flush, T0 + 30)
    assert not await store.flush_group(flush, T0 + 30)
    assert await store.waiting_groups() == []
    rows = [r for r in await store.list_deliveries(["silenced"]) if r.channel == "slack"]
    assert sorted((r.notification.key, r.recipients, r.last_error) for r in rows) == [
        ("msg_1", ("a@example.com",), f"silenced by {silence.id}"),
        ("msg_2", ("a@example.com",), f"silenced by {silence.id}"),
    ]
    assert await store.silenced_counts() == {silence.id: 2}
    assert [r.channel for r in await due(store, T0 + 1000)] == ["hook", "hook"]  # no digest was stored
    await store.commit([member(3)], [], [], NOW + timedelta(seconds=60))
    assert await store.next_group_at() == T0 + 90  # no digest went: a new member waits `wait`, not `interval`
