"""Fixtures for dispatcher tests: a manual clock (the state store is the suite's `store` fixture)."""

from __future__ import annotations

import pytest

from notifier.runtime.clock import ManualClock
from tests.support.dispatch import start_clock


@pytest.fixture
def clock() -> ManualClock:
    return start_clock()
