"""How replicas share the companies out: fair shares, nothing moved while stable, free companies spread."""

from __future__ import annotations

from notifier.ingest.balance import fair_share, wanted

COMPANIES = [str(n) for n in range(10)]


def test_a_lone_replica_wants_every_company() -> None:
    """With no one else alive, the share is everything (the embedded store's case)."""
    assert sorted(wanted("a", COMPANIES, ["a"], {})) == sorted(COMPANIES)


def test_a_replica_keeps_its_own_up_to_its_share_and_gives_up_the_rest() -> None:
    """When a second replica appears, the first keeps the first half of what it holds and wants no more."""
    owners = dict.fromkeys(COMPANIES, "a")
    assert wanted("a", COMPANIES, ["a", "b"], owners) == COMPANIES[:5]
    assert wanted("b", COMPANIES, ["a", "b"], owners) == []  # everything is held, for now


def test_free_companies_go_to_whoever_is_below_its_share() -> None:
    """Companies nobody holds are taken up to the share; the replicas reach for them in different orders."""
    owners = dict.fromkeys(COMPANIES[:5], "a")
    b = wanted("b", COMPANIES, ["a", "b"], owners)
    assert sorted(b) == COMPANIES[5:]
    first_choices = {wanted(me, COMPANIES, [f"r{n}" for n in range(4)], {})[0] for me in ("r0", "r1", "r2", "r3")}
    assert len(first_choices) > 1


def test_a_stable_cluster_moves_nothing() -> None:
    """Three replicas holding their shares want exactly what they hold."""
    owners = {c: ("a", "b", "c")[int(c) % 3] for c in COMPANIES}
    for me in ("a", "b", "c"):
        assert sorted(wanted(me, COMPANIES, ["a", "b", "c"], owners)) == sorted(c for c, o in owners.items() if o == me)


def test_the_share_is_rounded_up() -> None:
    """Ten companies among three replicas: four each at most, so every company has a place."""
    assert fair_share(10, 3) == 4
    assert fair_share(10, 0) == 10
