"""What the operator's window shows, as JSON-ready data: one function per section of the status page.

Read-only: everything comes from the daemon's `StatusSource` (views of what the pollers and the engine know,
and the store's read side), so a page view costs a few dictionary walks and a handful of small indexed
queries. The HTML page and `/api/*` are both rendered from these dictionaries, so the page never shows
anything the API does not.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from notifier import __version__
from notifier.store.errors import StoreError
from notifier.store.records import DEAD, DELIVERED, PENDING, SILENCED, DeliveryRow
from notifier.web.ready import readiness
from notifier.web.source import StatusSource

STALLED_AFTER = 900.0  # seconds without progress before a job is flagged; the shipped stalled-progress rule's
RECENT_DELIVERIES = 25
SECTIONS = ("companies", "jobs", "schedules", "alerts", "deliveries", "silences", "outbox", "groups", "cluster")
SCHEDULE_ORDER = {"failed": 0, "missed": 1, "late": 2, "ok": 3, "paused": 4, "inactive": 5}
Json = dict[str, Any]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def companies(source: StatusSource) -> list[Json]:
    rows = []
    for company in source.companies():
        status = company.status
        rows.append({
            "company": company.label, "name": company.name,
            "health": company.health, "interval_seconds": company.interval,
            "last_success": _iso(status.last_success), "last_attempt": _iso(status.last_attempt),
            "last_error": status.last_error, "consecutive_failures": status.consecutive_failures,
            "active_jobs": len(company.jobs),
        })  # fmt: skip
    order = {"unreachable": 0, "failing": 1, "stale": 2, "waiting": 3, "up": 4}
    return sorted(rows, key=lambda r: (order[r["health"]], natural(r["name"] or r["company"])))


def natural(text: str) -> list[str | int]:
    """Sort key putting company 47 before company 118; digit runs sit at odd positions, so types never mix."""
    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", text)]


def jobs(source: StatusSource, company: str | None = None) -> list[Json]:
    """Every tracked active job, longest without progress first; `seen_at` is when its company last answered,
    so a job of an unreachable company is shown as what it was then, not as current."""
    now = source.now()
    rows = []
    for view in source.companies():
        label = view.label
        if company not in (None, label):
            continue
        health, seen = view.health, _iso(view.status.last_success)
        for job, since in view.jobs:
            stalled = max(0.0, (now - since).total_seconds())
            rows.append({
                "company": label, "company_name": view.name,
                "job_handle": job.job_handle, "name": job.original_name or job.name, "type": job.type,
                "state": job.state, "progress": job.progress, "progress_message": job.progress_message,
                "locale": job.locale, "submit_user_email": job.submit_user_email,
                "started_at": _iso(job.start_date), "last_progress_at": _iso(since),
                "stalled_seconds": stalled, "stalled": job.state == "Running" and stalled >= STALLED_AFTER,
                "company_health": health, "seen_at": seen,
            })  # fmt: skip
    return sorted(rows, key=lambda r: (-r["stalled_seconds"], r["company"], r["name"] or ""))


def schedules(source: StatusSource) -> list[Json]:
    """Each company's scheduled jobs as last seen, with their last run, next fire time and state; those that
    missed a run or whose trigger broke first. Times are the server's as IPS gave them."""
    rows = []
    for company in source.companies():
        watch = company.schedules
        if watch is None:
            continue
        server_now = watch.server_now
        for state in watch.states:
            job, due = state.job, state.missed or state.due
            rows.append({
                "company": company.label, "company_name": company.name,
                "job_handle": job.job_handle, "name": job.label, "type": job.type, "locale": job.locale,
                "exec_schedule": job.exec_schedule, "time_zone": job.time_zone, "trigger_state": job.trigger_state,
                "next_fire_time": _iso(job.next_fire_time), "last_run": _iso(state.last_run),
                "last_run_job": state.last_run_job, "state": state.status(server_now, watch.grace),
                "due_at": _iso(due), "late_seconds": (server_now - due).total_seconds() if due else None,
                "submit_user_email": job.submit_user_email, "refused": watch.refused,
            })  # fmt: skip
    return sorted(rows, key=lambda r: (SCHEDULE_ORDER[r["state"]], natural(r["company_name"] or r["company"]),
                                       natural(r["name"])))  # fmt: skip


def alerts(source: StatusSource) -> list[Json]:
    """Alerts that are firing (or pending their `for:`); event-rule repeat memories are not alerts."""
    rows = []
    for view in source.alerts():
        alert = view.alert
        if alert.state not in ("firing", "pending"):
            continue
        job = alert.event.job if alert.event is not None else None
        schedule = alert.event.schedule if alert.event is not None else None
        name = schedule.label if schedule is not None and alert.job.startswith("schedule:") else None
        rows.append({
            "rule": alert.rule, "severity": view.severity, "state": alert.state,
            "company": alert.company, "job": alert.job or None,
            "job_name": name or ((job.original_name or job.name) if job is not None else None),
            "since": _iso(alert.active_since), "last_sent": _iso(alert.last_sent), "sends": alert.sends,
        })  # fmt: skip
    rank = {"critical": 0, "warning": 1, "info": 2}
    return sorted(rows, key=lambda r: (r["state"] != "firing", rank.get(r["severity"], 3), r["since"]))


def delivery(row: DeliveryRow) -> Json:
    n = row.notification
    return {
        "id": row.id, "channel": row.channel, "state": row.state, "attempts": row.attempts,
        "rule": n.rule, "severity": n.severity, "status": n.status, "title": n.message.title,
        "locale": n.message.locale, "company": n.company_handle or None,
        "job_name": n.job_name, "recipients": list(row.recipients),
        "created_at": _iso(n.created_at), "error": row.last_error,
        "next_attempt_at": _iso(datetime.fromtimestamp(row.next_at, UTC)) if row.state == PENDING else None,
    }  # fmt: skip


async def deliveries(source: StatusSource, limit: int = RECENT_DELIVERIES) -> Json:
    """The latest deliveries of any state, dead letters on their own (so delivered traffic cannot hide them)."""
    store = source.store
    recent = await store.list_deliveries([PENDING, DELIVERED, DEAD, SILENCED], limit)
    dead = await store.list_deliveries([DEAD], limit)
    disabled = await store.disabled_channels()
    return {
        "recent": [delivery(r) for r in recent],
        "dead_letters": [delivery(r) for r in dead],
        "disabled_channels": [{"channel": c, "reason": reason} for c, reason in sorted(disabled.items())],
    }


async def silences(source: StatusSource) -> list[Json]:
    now = source.now()
    held = await source.store.silenced_counts()
    return [
        {"id": s.id, "matchers": [{"label": k, "value": v} for k, v in s.matchers], "starts_at": _iso(s.starts_at),
         "ends_at": _iso(s.ends_at), "comment": s.comment, "created_by": s.created_by, "held_back": held.get(s.id, 0)}
        for s in await source.store.silences() if s.active(now)
    ]  # fmt: skip


async def outbox(source: StatusSource) -> Json:
    now = source.now()
    stats = await source.store.stats()
    oldest = stats.oldest_pending_at
    return {
        "pending": stats.pending, "dead": stats.dead, "silenced": stats.silenced, "delivered": stats.delivered,
        "oldest_pending_age_seconds": max(0.0, now.timestamp() - oldest) if oldest is not None else None,
    }  # fmt: skip


async def groups(source: StatusSource) -> Json:
    """Notifications waiting in groups for their digest, per channel and per group, the earliest due first; a
    group is overdue when its digest was due long enough ago that it should have been made (it is stuck)."""
    now = source.now().timestamp()
    waiting = await source.store.waiting_groups()
    rows = [
        {"key": g.key, "rule": g.rule, "channel": g.channel, "labels": dict(g.labels), "members": g.members,
         "since": _stamp(g.since), "digest_due_at": _stamp(g.due_at), "overdue": g.overdue(now), "digests": g.sent}
        for g in waiting
    ]  # fmt: skip
    return {"waiting": sum(g.members for g in waiting), "channels": _per_channel(rows), "groups": rows}


def _per_channel(rows: list[Json]) -> list[Json]:
    """Groups, members and overdue groups by channel, with the channel's next digest (rows: earliest due first)."""
    channels: dict[str, Json] = {}
    for row in rows:
        first = {"channel": row["channel"], "groups": 0, "members": 0, "next_digest_at": row["digest_due_at"]}
        seen = channels.setdefault(row["channel"], {**first, "overdue": 0})
        seen["groups"] += 1
        seen["members"] += row["members"]
        seen["overdue"] += row["overdue"]
    return sorted(channels.values(), key=lambda c: str(c["channel"]))


def _stamp(epoch: float | None) -> str | None:
    return _iso(datetime.fromtimestamp(epoch, UTC)) if epoch is not None else None


async def cluster(source: StatusSource) -> Json:
    """The replicas alive on the state store (this daemon among them) and which of them polls which company."""
    now = source.now()
    leases = await source.store.leases(now)
    held = Counter(lease.owner for lease in leases)
    members = [
        {"id": m.id, "host": m.host, "pid": m.pid, "heartbeat": _iso(m.heartbeat), "companies": held[m.id],
         "this": m.id == source.replica}
        for m in await source.store.members(now)
    ]  # fmt: skip
    owners = [{"company": lease.company, "replica": lease.owner, "until": _iso(lease.until)} for lease in leases]
    return {
        "replica": source.replica,
        "members": members,
        "owners": sorted(owners, key=lambda o: natural(o["company"])),
    }


async def section(source: StatusSource, name: str) -> Any:
    """One section by name (see SECTIONS), as `/api/<name>` serves it."""
    if name == "companies":
        return companies(source)
    if name == "jobs":
        return jobs(source)
    if name == "schedules":
        return schedules(source)
    if name == "alerts":
        return alerts(source)
    if name == "deliveries":
        return await deliveries(source)
    if name == "silences":
        return await silences(source)
    if name == "outbox":
        return await outbox(source)
    if name == "groups":
        return await groups(source)
    if name == "cluster":
        return await cluster(source)
    raise KeyError(name)


# What a section read from the state store shows while the store fails (readiness says why).
UNKNOWN: dict[str, Any] = {
    "deliveries": {"recent": [], "dead_letters": [], "disabled_channels": []},
    "silences": [],
    "outbox": dict.fromkeys(("pending", "dead", "silenced", "delivered", "oldest_pending_age_seconds")),
    "groups": {"waiting": None, "channels": [], "groups": []},
    "cluster": {"replica": None, "members": [], "owners": []},
}


async def snapshot(source: StatusSource) -> Json:
    """Everything the status page shows, plus a summary line per concern for the tiles at its top.

    A failing state store costs only the sections read from it: the companies, jobs and alerts are still
    shown, and readiness names the failure.
    """
    now = source.now()
    data: Json = {}
    for name in SECTIONS:
        try:
            data[name] = await section(source, name)
        except StoreError:
            data[name] = UNKNOWN[name]
    ready = await readiness(source)
    data.update(generated_at=now.isoformat(), version=__version__, ready=ready.ready, reasons=list(ready.reasons))
    data["summary"] = summary(data)
    return data


def summary(data: Json) -> Json:
    health = [c["health"] for c in data["companies"]]
    return {
        "companies": len(health),
        "companies_up": health.count("up"),
        "jobs": len(data["jobs"]),
        "stalled_jobs": sum(1 for j in data["jobs"] if j["stalled"]),
        "schedules": len(data["schedules"]),
        "schedules_failing": sum(1 for x in data["schedules"] if x["state"] in ("missed", "failed")),
        "alerts_firing": sum(1 for a in data["alerts"] if a["state"] == "firing"),
        "alerts_pending": sum(1 for a in data["alerts"] if a["state"] == "pending"),
        "outbox_pending": data["outbox"]["pending"],
        "outbox_oldest_age_seconds": data["outbox"]["oldest_pending_age_seconds"],
        "group_members_waiting": data["groups"]["waiting"],
        "groups_waiting": len(data["groups"]["groups"]),
        "groups_overdue": sum(1 for g in data["groups"]["groups"] if g["overdue"]),
        "dead_letters": data["outbox"]["dead"],
        "disabled_channels": len(data["deliveries"]["disabled_channels"]),
        "silences": len(data["silences"]),
        "replicas": len(data["cluster"]["members"]),
    }
