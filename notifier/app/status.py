"""The daemon as the operator's window may read it: `web.StatusSource`, implemented over the running stages.

Views are taken when a page or an API call asks; gauges are set from the same views just before each scrape.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import generate_latest

from notifier.ingest.views import CompanyView
from notifier.store.errors import StoreError
from notifier.store.records import WaitingGroup
from notifier.web.source import AlertView, Phase, StoreReader

if TYPE_CHECKING:
    from notifier.app.daemon import Daemon


class DaemonStatus:
    """Read-only access to a running daemon, for `create_app`."""

    def __init__(self, daemon: Daemon) -> None:
        self._daemon = daemon

    @property
    def phase(self) -> Phase:
        return self._daemon.phase

    @property
    def config_file(self) -> Path:
        return self._daemon.config.source

    @property
    def replica(self) -> str:
        return self._daemon.ownership.replica

    @property
    def store(self) -> StoreReader:
        return self._daemon.store

    def now(self) -> datetime:
        return self._daemon.clock.now()

    def companies(self) -> Sequence[CompanyView]:
        return self._daemon.pollers.views(self.now())

    def alerts(self) -> Sequence[AlertView]:
        engine = self._daemon.engine
        severities = {rule.name: rule.severity for rule in engine.rules.rules}
        return [AlertView(alert, severities.get(alert.rule)) for alert in engine.alerts.values()]

    async def metrics(self) -> bytes:
        await self._refresh_gauges()
        return generate_latest(self._daemon.metrics.registry)

    async def _refresh_gauges(self) -> None:
        daemon, m = self._daemon, self._daemon.metrics
        with contextlib.suppress(StoreError):  # a failing store keeps its last outbox figures, and says so
            stats = await daemon.store.stats()
            m.outbox_depth.set(stats.pending)
            oldest = stats.oldest_pending_at
            m.outbox_oldest.set(max(0.0, self.now().timestamp() - oldest) if oldest else 0.0)
        with contextlib.suppress(StoreError):  # likewise what waits in groups
            self._refresh_groups(await daemon.store.waiting_groups())
        with contextlib.suppress(StoreError):  # likewise the cluster's figures
            now = self.now()
            m.cluster_members.set(len(await daemon.store.members(now)))
            m.company_leases.clear()  # a replica gone takes its series with it
            for replica, held in Counter(lease.owner for lease in await daemon.store.leases(now)).items():
                m.company_leases.labels(replica).set(held)
        m.store_up.set(0 if daemon.store.health.failing else 1)
        m.queue_depth.set(daemon.queue.qsize())
        m.firing.set(sum(1 for a in daemon.engine.alerts.values() if a.state == "firing"))
        m.company_up.clear()  # a company configured by name changes label once resolved; drop the old series
        for company in self.companies():
            m.company_up.labels(company.label).set(1 if company.status.up else 0)

    def _refresh_groups(self, groups: Sequence[WaitingGroup]) -> None:
        """Members waiting per configured channel (0 when none), and how late its latest digest is; a channel
        no longer configured drops its series once nothing waits for it."""
        m, now = self._daemon.metrics, self.now().timestamp()
        waiting = dict.fromkeys(self._daemon.config.channels, 0)
        late = dict.fromkeys(self._daemon.config.channels, 0.0)
        for group in groups:
            waiting[group.channel] = waiting.get(group.channel, 0) + group.members
            due = group.due_at if group.due_at is not None else now
            late[group.channel] = max(late.get(group.channel, 0.0), now - due)
        m.group_members_waiting.clear()
        m.group_overdue.clear()
        for channel, count in waiting.items():
            m.group_members_waiting.labels(channel).set(count)
            m.group_overdue.labels(channel).set(late[channel])
