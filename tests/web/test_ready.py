"""Readiness as `/readyz` words it, for each phase of a daemon's life, read from a `StatusSource`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest

from notifier.ingest.views import CompanyView
from notifier.store.sqlite.store import SqliteStore
from notifier.web.ready import readiness
from notifier.web.source import AlertView, Phase, StoreReader
from tests.support.sim import START


class Source:
    """A daemon in `phase` polling no company, over a real store."""

    def __init__(self, phase: Phase, store: SqliteStore) -> None:
        self._phase, self._store = phase, store

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def config_file(self) -> Path:
        return Path("notifier.yaml")

    @property
    def replica(self) -> str:
        return "r1"

    @property
    def store(self) -> StoreReader:
        return self._store

    def now(self) -> datetime:
        return START

    def companies(self) -> Sequence[CompanyView]:
        return []

    def alerts(self) -> Sequence[AlertView]:
        return []

    async def metrics(self) -> bytes:
        return b""


@pytest.mark.parametrize(
    ("phase", "reasons"),
    [
        ("starting", ["daemon is starting: rules are not loaded yet"]),
        ("running", []),
        ("stopping", ["daemon is stopping"]),
    ],
)
async def test_only_a_running_daemon_is_ready(phase: Phase, reasons: list[str], store: SqliteStore) -> None:
    """A daemon still starting (rules not loaded) or already stopping is not ready, and says which."""
    result = await readiness(Source(phase, store))
    assert (result.ready, list(result.reasons)) == (not reasons, reasons)
    assert result.checks["started"] is (phase != "starting")
