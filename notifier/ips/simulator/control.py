"""The `/_sim/` control API: tests and demos drive the simulated world over HTTP instead of sleeping.

It has no authentication, like the rest of the simulator: serve it on 127.0.0.1 only.

GET    /_sim/state                   scenario, simulated time, calls so far, per-company counts
POST   /_sim/advance  {"seconds": N} move simulated time forward
POST   /_sim/speed    {"speed": x}   change how fast simulated time follows wall time (0 = frozen)
POST   /_sim/fault    {"mode": ..., "count": 1, "delay": s, "status": 503, "size": bytes, "length": false,
                       "operation": null}   answer the next `count` SOAP calls (of that operation) that way
DELETE /_sim/fault                   forget queued faults
POST   /_sim/down  |  /_sim/up       every SOAP call gets 503 until up again
POST   /_sim/jobs     {"company": "47", "type": ..., "outcome": ..., "name": ..., "files": n, "run": s,
                       "locale": ..., "stall_files": n}   start a job now
POST   /_sim/finish   {"jobHandle": "47||…", "outcome": "success"}   end a running (e.g. stalled) job now
POST   /_sim/trigger  {"jobHandle": "47||…", "triggerState": "Paused"}   pause, resume or break a schedule now
POST   /_sim/taint    {"text": "Spring", "raw": "<base64>"}   every answer carries those bytes instead of the text
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aiohttp import web

from notifier.ips.simulator.chaos import FaultSpec
from notifier.ips.simulator.jobs import OUTCOMES
from notifier.ips.simulator.scenarios import JobSpec
from notifier.ips.simulator.world import World
from notifier.models import JOB_TYPES


class ControlApi:
    """Handlers bound to one world."""

    def __init__(self, world: World) -> None:
        self.world = world

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/_sim/state", self.state),
            web.post("/_sim/advance", self.advance),
            web.post("/_sim/speed", self.speed),
            web.post("/_sim/fault", self.fault),
            web.delete("/_sim/fault", self.clear_faults),
            web.post("/_sim/down", self.down),
            web.post("/_sim/up", self.up),
            web.post("/_sim/jobs", self.add_job),
            web.post("/_sim/finish", self.finish),
            web.post("/_sim/trigger", self.trigger),
            web.post("/_sim/taint", self.taint),
        ]

    async def state(self, request: web.Request) -> web.Response:
        return web.json_response(self.world.state())

    async def advance(self, request: web.Request) -> web.Response:
        body = await _json(request)
        now = self.world.advance(_number(body, "seconds"))
        self.world.sync()
        return web.json_response({"now": now.isoformat()})

    async def speed(self, request: web.Request) -> web.Response:
        body = await _json(request)
        self.world.clock.speed = _number(body, "speed")
        return web.json_response({"speed": self.world.clock.speed})

    async def fault(self, request: web.Request) -> web.Response:
        body = await _json(request)
        try:
            spec = FaultSpec(
                mode=str(body.get("mode", "")),
                delay=float(body.get("delay", 0.0)),
                status=int(body.get("status", 503)),
                size=int(body.get("size", FaultSpec("huge").size)),
                length=bool(body.get("length", False)),
                operation=str(body["operation"]) if body.get("operation") else None,
            )
            self.world.chaos.inject(spec, int(body.get("count", 1)))
        except (TypeError, ValueError) as exc:
            raise _bad_request(str(exc)) from None
        return web.json_response({"pending": self.world.chaos.pending})

    async def clear_faults(self, request: web.Request) -> web.Response:
        self.world.chaos.clear()
        return web.json_response({"pending": []})

    async def down(self, request: web.Request) -> web.Response:
        self.world.chaos.down = True
        return web.json_response({"down": True})

    async def up(self, request: web.Request) -> web.Response:
        self.world.chaos.down = False
        return web.json_response({"down": False})

    async def add_job(self, request: web.Request) -> web.Response:
        body = await _json(request)
        kind, outcome = str(body.get("type", "ImageServingPublish")), str(body.get("outcome", "success"))
        if kind not in JOB_TYPES or outcome not in OUTCOMES:
            raise _bad_request(f"type must be one of {JOB_TYPES}, outcome one of {OUTCOMES}")
        try:
            spec = JobSpec(
                company=str(body.get("company", "")),
                type=kind,
                outcome=outcome,
                original_name=str(body.get("name", f"{kind} job")),
                run=float(body.get("run", 30.0)),
                queued=float(body.get("queued", 2.0)),
                files=int(body.get("files", 10)),
                locale=str(body["locale"]) if body.get("locale") else None,
                stall_files=int(body.get("stall_files", 0)),
            )
            plan = self.world.add_job(spec)
        except (TypeError, ValueError) as exc:
            raise _bad_request(str(exc)) from None
        self.world.sync()
        return web.json_response({"jobHandle": plan.job_handle, "start": plan.start.isoformat()})

    async def finish(self, request: web.Request) -> web.Response:
        body = await _json(request)
        outcome = str(body.get("outcome", "success"))
        if outcome not in OUTCOMES or outcome == "stall":
            raise _bad_request(f"outcome must be one of {[o for o in OUTCOMES if o != 'stall']}")
        try:
            plan = self.world.finish(str(body.get("jobHandle", "")), outcome)
        except ValueError as exc:
            raise _bad_request(str(exc)) from None
        return web.json_response({"jobHandle": plan.job_handle, "outcome": plan.outcome})

    async def trigger(self, request: web.Request) -> web.Response:
        body = await _json(request)
        try:
            view = self.world.set_trigger(str(body.get("jobHandle", "")), str(body.get("triggerState", "")))
        except ValueError as exc:
            raise _bad_request(str(exc)) from None
        next_fire = view.next_fire_time.isoformat() if view.next_fire_time else None
        return web.json_response({"jobHandle": view.job_handle, "triggerState": view.trigger_state,
                                  "nextFireTime": next_fire})  # fmt: skip

    async def taint(self, request: web.Request) -> web.Response:
        body = await _json(request)
        try:
            raw = base64.b64decode(str(body.get("raw", "")), validate=True)
            self.world.taint(str(body.get("text", "")), raw)
        except (ValueError, binascii.Error) as exc:
            raise _bad_request(str(exc)) from None
        return web.json_response({"taints": len(self.world.taints)})


async def _json(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except json.JSONDecodeError:
        raise _bad_request("the body is not JSON") from None
    if not isinstance(body, dict):
        raise _bad_request("the body must be a JSON object")
    return body


def _number(body: dict[str, Any], name: str) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise _bad_request(f"{name} must be a number >= 0")
    return float(value)


def _bad_request(reason: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": reason}), content_type="application/json")
