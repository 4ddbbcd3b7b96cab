"""A snapshot's events built column by column are the events built one by one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from notifier.ingest.job_events import reference_events, snapshot_events
from notifier.models import CompanyRef
from tests.support.ips import active_jobs

COMPANY = CompanyRef("47", "Planetary", "de-DE", "Europe/Berlin")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
kinds = st.sampled_from(["job.active", "job.started", "job.progressed", "job.state_changed", "job.departed"])
changes = st.none() | st.fixed_dictionaries({"progress": st.integers(0, 100)}) | st.just({"state": "New"})
specs = st.lists(st.tuples(kinds, active_jobs, st.none() | st.floats(0, 1e6), changes), max_size=6)


@given(specs)
def test_snapshot_events_equal_the_reference(given_specs: list[Any]) -> None:
    """Same events, in the same order; an event with nothing changed has an empty `previous` of its own, never
    one dict shared with other events."""
    built = snapshot_events(given_specs, COMPANY, NOW)
    assert built == reference_events(given_specs, COMPANY, NOW)
    empty = [id(event.previous) for event, spec in zip(built, given_specs, strict=True) if spec[3] is None]
    assert len(set(empty)) == len(empty)
