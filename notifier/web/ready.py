"""Readiness: is this daemon doing its job right now? Each failed check says why, in words an operator can act on.

Ready means: the daemon has started (configuration and rules are loaded) and is not stopping, the state store
answers a query and no store operation keeps failing (a full disk, a damaged page), and every company is being
watched (`PollStatus.ready`: polled successfully within the last STALE_INTERVALS of its poll interval, without
its polls being skipped because the rules cannot keep up).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from notifier.ingest.health import STALE_INTERVALS
from notifier.ingest.views import CompanyView
from notifier.store.errors import StoreError
from notifier.web.present import duration
from notifier.web.source import StatusSource

PHASES = {"starting": "daemon is starting: rules are not loaded yet", "stopping": "daemon is stopping"}


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    reasons: tuple[str, ...]
    checks: dict[str, Any] = field(default_factory=dict)


async def readiness(source: StatusSource) -> Readiness:
    now = source.now()
    reasons: list[str] = []
    checks: dict[str, Any] = {"config": str(source.config_file), "started": source.phase != "starting"}
    if source.phase in PHASES:
        reasons.append(PHASES[source.phase])
    store_error = await _store_error(source)
    failing = source.store.health.problem
    checks["store"] = store_error or failing or "ok"
    if store_error:
        reasons.append(f"state store is not answering: {store_error}")
    elif failing:
        reasons.append(f"state store is failing: {failing}")
    companies = {}
    for company in source.companies():
        problem = company_problem(company, now)
        companies[company.label] = problem or "ok"
        if problem:
            reasons.append(f"company {company.label}: {problem}")
    checks["companies"] = companies
    return Readiness(not reasons, tuple(reasons), checks)


def company_problem(company: CompanyView, now: datetime) -> str | None:
    """Why this company makes the daemon not ready, or None while it is watched (`PollStatus.ready`)."""
    if company.ready:
        return None
    status = company.status
    error = f"; last error: {status.last_error}" if status.last_error else ""
    if status.behind_since is not None:
        waited = duration(status.queue_wait)
        return (f"polls are being skipped since {status.behind_since.isoformat()}: its last poll's events "
                f"waited {waited} for room in the event queue (the rules are falling behind)")  # fmt: skip
    if status.last_success is None:
        return f"no successful poll yet{error}"
    limit = company.interval * STALE_INTERVALS
    window = f"{STALE_INTERVALS} intervals ({duration(limit)})"
    return f"last successful poll {duration(status.age(now))} ago, more than {window}{error}"


async def _store_error(source: StatusSource) -> str | None:
    """A real round trip to the store: a closed or locked-up store is not ready, whatever flags say."""
    try:
        await source.store.ping()
    except StoreError as exc:
        return str(exc)
    return None
