"""The daemon's collector settings: young collections rarer, the other generations' ratios kept."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from notifier.runtime.memory import YOUNG, settle_collector


@pytest.fixture
def collector() -> Iterator[None]:
    """The test process's collector settings, restored afterwards."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector")
def test_settling_freezes_what_exists_and_collects_less_often() -> None:
    """Objects alive at the call are frozen (not walked again); young collections wait for YOUNG allocations."""
    _young, middle, old = gc.get_threshold()
    settle_collector()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (YOUNG, middle, old)
