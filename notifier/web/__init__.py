"""The operator's window: /healthz, /readyz, /metrics, the /status page and the same data as JSON under /api/.

Read-only: it is given a `StatusSource` (what it may read, nothing more), never the daemon; nothing here
changes anything, and everything it answers goes through the scrubber (secrets, controls, lengths).
Everything is served by the daemon itself, page assets included, because it runs on networks that reach
nothing else; a strict Content-Security-Policy backs up the autoescaping, so a job named `<script>` is text
on the page and could not run even if it slipped through.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from prometheus_client import CONTENT_TYPE_LATEST

from notifier import __version__
from notifier.safety import SCRUBBER
from notifier.store.errors import StoreError
from notifier.web import present
from notifier.web.ready import Readiness, readiness
from notifier.web.sections import SECTIONS, jobs, section, snapshot
from notifier.web.source import AlertView, StatusSource, StoreReader

__all__ = ["AlertView", "Readiness", "StatusSource", "StoreReader", "create_app", "readiness", "snapshot"]

HERE = Path(__file__).parent
SOURCE_KEY: web.AppKey[StatusSource] = web.AppKey("source")
PAGE_KEY: web.AppKey[Template] = web.AppKey("page")
ASSETS_KEY: web.AppKey[dict[str, bytes]] = web.AppKey("assets")
REFRESH_SECONDS = 10
MAX_ROWS = 200  # per table: 50,000 job rows would make the page useless; the API has them all
ASSETS = {"status.css": "text/css", "status.js": "text/javascript"}
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
KINDS = {
    "health_kind": {"up": "ok", "waiting": "muted", "stale": "warn", "failing": "warn", "unreachable": "bad"},
    "state_kind": {"delivered": "ok", "pending": "warn", "dead": "bad", "silenced": "muted"},
    "severity_kind": {"critical": "bad", "warning": "warn", "info": "info"},
    "schedule_kind": {
        "ok": "ok",
        "late": "warn",
        "missed": "bad",
        "failed": "bad",
        "paused": "muted",
        "inactive": "muted",
    },
}


def page_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        finalize=lambda value: "–" if value is None else value,  # a figure the store could not give
    )
    env.filters.update(
        duration=present.duration,
        relative=present.relative,
        until=present.until,
        absolute=present.absolute,
        iso=present.iso,
    )
    env.globals.update(KINDS)
    return env


@web.middleware
async def _headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cache-Control", "no-store")
    if response.content_type == "text/html":
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
    return response


def create_app(source: StatusSource) -> web.Application:
    """The window's routes, reading only from `source`."""
    app = web.Application(middlewares=[_headers])
    app[SOURCE_KEY] = source
    app[PAGE_KEY] = page_environment().get_template("status.html")
    app[ASSETS_KEY] = {name: (HERE / "static" / name).read_bytes() for name in ASSETS}
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/", status_page)
    app.router.add_get("/status", status_page)
    app.router.add_get("/assets/{name}", asset)
    app.router.add_get("/api/status", api_status)
    app.router.add_get("/api/{section}", api_section)
    return app


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "alive", "version": __version__})


async def readyz(request: web.Request) -> web.Response:
    result = await readiness(request.app[SOURCE_KEY])
    body = {"ready": result.ready, "reasons": list(result.reasons), "checks": result.checks}
    return web.json_response(body, status=200 if result.ready else 503, dumps=_dumps)


async def metrics(request: web.Request) -> web.Response:
    exposition = await request.app[SOURCE_KEY].metrics()
    text = SCRUBBER.redactor.text(exposition.decode())  # labels come from outside
    return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def status_page(request: web.Request) -> web.Response:
    source = request.app[SOURCE_KEY]
    data = SCRUBBER(await snapshot(source))
    html = request.app[PAGE_KEY].render(data=data, now=source.now(), refresh=REFRESH_SECONDS, max_rows=MAX_ROWS)
    return web.Response(text=html, content_type="text/html")


async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in ASSETS:
        raise web.HTTPNotFound()
    # Versioned URLs (?v=) change with every release, so an hour of caching never serves stale code.
    body = request.app[ASSETS_KEY][name]
    return web.Response(body=body, content_type=ASSETS[name], headers={"Cache-Control": "max-age=3600"})


async def api_status(request: web.Request) -> web.Response:
    return web.json_response(await snapshot(request.app[SOURCE_KEY]), dumps=_dumps)


async def api_section(request: web.Request) -> web.Response:
    source, name = request.app[SOURCE_KEY], request.match_info["section"]
    if name not in SECTIONS:
        raise web.HTTPNotFound(text=f"no section {name!r}; known: {', '.join(SECTIONS)}")
    if name == "jobs":
        return _jobs_response(source, request)
    try:
        return web.json_response(await section(source, name), dumps=_dumps)
    except StoreError as exc:
        return web.json_response({"error": str(exc)}, status=503, dumps=_dumps)


def _jobs_response(source: StatusSource, request: web.Request) -> web.Response:
    """`/api/jobs?company=47&limit=100`: one company's jobs, or the longest-stalled N of them all."""
    rows = jobs(source, request.query.get("company"))
    limit = request.query.get("limit")
    if limit is not None:
        if not limit.isdigit():
            raise web.HTTPBadRequest(text="limit must be a non-negative integer")
        rows = rows[: int(limit)]
    return web.json_response(rows, dumps=_dumps)


def _dumps(value: Any) -> str:
    """Every JSON answer goes out scrubbed: job data and errors come from IPS and receivers."""
    return json.dumps(SCRUBBER(value), ensure_ascii=False)
