"""The operator's window: /healthz, /readyz, /metrics, the /status page and the same data as JSON under /api/.

Read-only: nothing here changes the daemon. The snapshot is assembled from what the pollers, the engine and
the store already know, so a page view costs a few dictionary walks and two small queries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from notifier.codec import to_jsonable

if TYPE_CHECKING:
    from notifier.app import Daemon

HERE = Path(__file__).parent
DAEMON_KEY: web.AppKey[Daemon] = web.AppKey("daemon")
STALE_INTERVALS = 3  # a company is "not ready" when its last good poll is older than this many intervals


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    reasons: tuple[str, ...]


def readiness(daemon: Daemon) -> Readiness:
    now = daemon.clock.now()
    reasons = []
    if not daemon.store_open:
        reasons.append("state store is not open")
    for poller in daemon.ingest.pollers:
        name = poller.company.handle or poller.company_name or "?"
        last = poller.status.last_success
        limit = poller.settings.interval * STALE_INTERVALS
        if last is None or (now - last).total_seconds() > limit:
            reasons.append(f"company {name}: no successful poll within {int(limit)}s")
    return Readiness(not reasons, tuple(reasons))


async def snapshot(daemon: Daemon) -> dict[str, Any]:
    """Everything the status page shows, JSON-ready."""
    now = daemon.clock.now()
    companies, jobs = [], []
    for poller in daemon.ingest.pollers:
        status = poller.status
        name = poller.company.name or poller.company_name or poller.company.handle
        companies.append({
            "handle": poller.company.handle, "name": name, "last_success": status.last_success,
            "last_attempt": status.last_attempt, "last_error": status.last_error,
            "consecutive_failures": status.consecutive_failures, "unreachable": status.unreachable,
            "active_jobs": poller.tracker.active_count if poller.tracker else 0,
        })  # fmt: skip
        for job, since in poller.tracker.active_jobs() if poller.tracker else []:
            jobs.append({
                "company": poller.company.handle, "job_handle": job.job_handle, "name": job.original_name or job.name,
                "type": job.type, "state": job.state, "progress": job.progress, "locale": job.locale,
                "progress_message": job.progress_message, "stalled_seconds": max(0.0, (now - since).total_seconds()),
                "submit_user_email": job.submit_user_email,
            })  # fmt: skip
    alerts = [
        {"rule": a.rule, "company": a.company, "job": a.job, "state": a.state, "since": a.active_since,
         "last_sent": a.last_sent}
        for a in daemon.alerts() if a.state in ("firing", "pending")
    ]  # fmt: skip
    deliveries = [
        {"id": r.id, "channel": r.channel, "state": r.state, "attempts": r.attempts, "rule": r.notification.rule,
         "status": r.notification.status, "title": r.notification.message.title, "error": r.last_error,
         "created_at": r.notification.created_at}
        for r in await daemon.store.list_deliveries(["pending", "delivered", "dead", "silenced"], 25)
    ]  # fmt: skip
    silences = [
        {"id": s.id, "matchers": dict(s.matchers), "ends_at": s.ends_at, "comment": s.comment,
         "created_by": s.created_by}
        for s in await daemon.store.silences() if s.active(now)
    ]  # fmt: skip
    stats = await daemon.store.stats()
    ready = readiness(daemon)
    data: dict[str, Any] = to_jsonable({
        "now": now, "ready": ready.ready, "reasons": list(ready.reasons), "companies": companies,
        "jobs": sorted(jobs, key=lambda j: -j["stalled_seconds"]), "alerts": alerts, "deliveries": deliveries,
        "silences": silences, "outbox": {"pending": stats.pending, "dead": stats.dead, "silenced": stats.silenced},
    })  # fmt: skip
    return data


def create_app(daemon: Daemon) -> web.Application:
    app = web.Application()
    app[DAEMON_KEY] = daemon
    env = Environment(loader=FileSystemLoader(HERE), autoescape=select_autoescape(["html"]))
    env.filters["duration"] = _duration
    env.filters["ago"] = _ago
    page = env.get_template("status.html")

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(_request: web.Request) -> web.Response:
        result = readiness(daemon)
        return web.json_response(
            {"ready": result.ready, "reasons": list(result.reasons)}, status=200 if result.ready else 503
        )

    async def metrics(_request: web.Request) -> web.Response:
        await daemon.refresh_gauges()
        body = generate_latest(daemon.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def status_page(_request: web.Request) -> web.Response:
        data = await snapshot(daemon)
        return web.Response(text=page.render(data=data, now=daemon.clock.now()), content_type="text/html")

    def api(section: str | None) -> Callable[[web.Request], Any]:
        async def handler(_request: web.Request) -> web.Response:
            data = await snapshot(daemon)
            return web.json_response(data if section is None else data[section], dumps=_dumps)

        return handler

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/", status_page)
    app.router.add_get("/status", status_page)
    app.router.add_get("/api/status", api(None))
    for section in ("companies", "jobs", "alerts", "deliveries", "silences"):
        app.router.add_get(f"/api/{section}", api(section))
    return app


def _dumps(value: Mapping[str, Any] | list[Any]) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _ago(value: str | None, now: datetime) -> str:
    if not value:
        return "never"
    return _duration((now - datetime.fromisoformat(value)).total_seconds()) + " ago"
