"""The `Store` operations as the pipeline uses them: claims on deliveries, tracker seeds, the cluster's view."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notifier.ingest.leases import Member
from notifier.ingest.marks import PollMark
from notifier.store.protocol import Store
from notifier.store.records import DELIVERED, Destination, Outgoing
from notifier.store.sqlite.store import SqliteStore
from tests.support.store import BACKENDS, NOW, notification, settle


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_a_claimed_row_is_due_for_nobody_else_until_its_outcome_is_recorded(store: Store) -> None:
    """Claiming takes a due row out of line; recording its outcome ends the claim (and here delivers it)."""
    await store.commit([Outgoing(notification(), (Destination("hook"),))], [], [], NOW)
    [row] = await store.claim_due("a", NOW.timestamp(), 10, lease=60.0)
    assert await store.claim_due("b", NOW.timestamp(), 10, lease=60.0) == []
    await settle(store, row, DELIVERED, now=NOW)
    assert await store.claim_due("b", NOW.timestamp(), 10, lease=60.0) == []
    assert (await store.stats()).delivered == 1


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_a_released_claim_makes_the_row_due_again(store: Store) -> None:
    """A row let go without an attempt (a send that never started) is due again for the next claim."""
    await store.commit([Outgoing(notification(), (Destination("hook"),))], [], [], NOW)
    [row] = await store.claim_due("a", NOW.timestamp(), 10, lease=60.0)
    await store.release("a", [row.id])
    assert [r.id for r in await store.claim_due("a", NOW.timestamp(), 10, lease=60.0)] == [row.id]


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_a_first_look_leaves_a_mark_but_starts_from_what_was_stored(store: Store) -> None:
    """The seed of a company never polled is empty, and a mark at the first look is stored with it."""
    assert (await store.seed("47", NOW, first_look=True)).mark is None
    later = NOW + timedelta(minutes=5)
    assert (await store.seed("47", later, first_look=True)).mark == PollMark(NOW, NOW, {})
    assert (await store.seed("203", NOW, first_look=False)).mark is None
    assert await store.poll_marks() == {"47": PollMark(NOW, NOW, {})}


@pytest.mark.parametrize("store", BACKENDS, indirect=True)
async def test_a_name_resolved_while_seeding_is_kept_as_its_handles(store: Store) -> None:
    """Seeding with the name a company was resolved from keeps that name's handle (the latest one); a plain seed
    keeps nothing."""
    assert await store.company_handles() == {}
    await store.seed("203", NOW, first_look=False)
    await store.seed("311", NOW, first_look=False, name="Lumière Maison")
    await store.seed("47", NOW, first_look=False, name="Planetary")
    await store.seed("48", NOW, first_look=False, name="Planetary")  # renamed: the name means another company
    assert await store.company_handles() == {"Lumière Maison": "311", "Planetary": "48"}


async def test_the_embedded_store_has_one_member_holding_every_lease(store: SqliteStore) -> None:
    """One daemon owns the file: it is the cluster, and every company it asks for is its own."""
    await store.heartbeat(Member("r1", "host", 42, NOW))
    assert [m.id for m in await store.members(NOW)] == ["r1"]
    leases = await store.acquire("r1", ["47", "203"], NOW, 15.0)
    assert [(lease.company, lease.owner, lease.until) for lease in leases] == [
        ("47", "r1", NOW + timedelta(seconds=15)),
        ("203", "r1", NOW + timedelta(seconds=15)),
    ]
    await store.surrender("r1", ["203"])
    assert [lease.company for lease in await store.leases(NOW)] == ["47"]


def test_the_sqlite_store_is_a_store(store: SqliteStore) -> None:
    """`SqliteStore` implements every operation of the `Store` protocol (mypy checks this assignment)."""
    whole: Store = store
    assert whole.health.problem is None
