"""Readiness: is this daemon doing its job right now? Each failed check says why, in words an operator can act on.

Ready means: configuration and rules are loaded (the daemon has started), the state store answers a query and
no store operation keeps failing (a full disk, a damaged page), and every company has been polled successfully
within the last STALE_INTERVALS of its poll interval, without its polls being skipped because the rules cannot
keep up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from notifier.ingest.poller import CompanyPoller
from notifier.store.errors import StoreError
from notifier.web.present import duration

if TYPE_CHECKING:
    from notifier.app.daemon import Daemon

STALE_INTERVALS = 3  # a company is "not ready" when its last good poll is older than this many intervals


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    reasons: tuple[str, ...]
    checks: dict[str, Any] = field(default_factory=dict)


async def readiness(daemon: Daemon) -> Readiness:
    now = daemon.clock.now()
    reasons: list[str] = []
    checks: dict[str, Any] = {"config": str(daemon.config.source), "started": daemon.intake is not None}
    if daemon.intake is None:
        reasons.append("daemon is starting: rules are not loaded yet")
    store_error = await _store_error(daemon)
    failing = daemon.store.health.problem
    checks["store"] = store_error or failing or "ok"
    if store_error:
        reasons.append(f"state store is not answering: {store_error}")
    elif failing:
        reasons.append(f"state store is failing: {failing}")
    companies = {}
    for poller in daemon.ingest.pollers:
        problem = company_problem(poller, now)
        companies[company_label(poller)] = problem or "ok"
        if problem:
            reasons.append(f"company {company_label(poller)}: {problem}")
    checks["companies"] = companies
    return Readiness(not reasons, tuple(reasons), checks)


def company_label(poller: CompanyPoller) -> str:
    """The handle once known; a company configured by name is called by its name until it is resolved."""
    return poller.label or "?"


def company_problem(poller: CompanyPoller, now: datetime) -> str | None:
    """Why this company makes the daemon not ready, or None when its last good poll is recent enough."""
    status = poller.status
    limit = poller.settings.interval * STALE_INTERVALS
    error = f"; last error: {status.last_error}" if status.last_error else ""
    if status.behind_since is not None:
        waited = duration(status.queue_wait)
        return (f"polls are being skipped since {status.behind_since.isoformat()}: its last poll's events "
                f"waited {waited} for room in the event queue (the rules are falling behind)")  # fmt: skip
    if status.last_success is None:
        return f"no successful poll yet{error}"
    age = (now - status.last_success).total_seconds()
    if age > limit:
        window = f"{STALE_INTERVALS} intervals ({duration(limit)})"
        return f"last successful poll {duration(age)} ago, more than {window}{error}"
    return None


async def _store_error(daemon: Daemon) -> str | None:
    """A real round trip to the store: a closed or locked-up store is not ready, whatever flags say."""
    try:
        await daemon.store.ping()
    except StoreError as exc:
        return str(exc)
    return None
