"""The demo's Slack: a Slack Web API workspace on 127.0.0.1 that prints what it is asked to do (new messages,
replies in threads, edits), and the storm and the stall the demo stages so grouping and threads can be seen."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from notifier.ips.simulator.scenarios import JobSpec
from notifier.ips.simulator.world import World

DEMO_TOKEN = "xoxb-demo-workspace"  # noqa: S105 - the local fake's token, nothing real
CHANNEL, CHANNEL_ID = "#dmc-demo", "CDEMO"
STORM, STORM_COMPANY = 40, "47"
Sleep = Callable[[float], Awaitable[None]]


def _header(body: dict[str, Any]) -> str:
    blocks = body.get("blocks") or []
    first = blocks[0].get("text", {}).get("text") if blocks and isinstance(blocks[0], dict) else None
    return str(first or body.get("text", "")).splitlines()[0]


@asynccontextmanager
async def slack_workspace() -> AsyncIterator[int]:
    """A Slack Web API fake on a free port of 127.0.0.1 (yielded) printing every message, reply and edit."""
    posted: list[str] = []

    async def post_message(request: web.Request) -> web.Response:
        body = await request.json()
        posted.append(str(len(posted) + 1))
        ts = posted[-1]
        thread = body.get("thread_ts")
        where = f"reply in the thread of message {thread}" if thread else f"message {ts}"
        print(f"  ↳ Slack {CHANNEL}: {where}: {_header(body)}", flush=True)
        return web.json_response({"ok": True, "channel": CHANNEL_ID, "ts": ts})

    async def update(request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("ts") not in posted:
            return web.json_response({"ok": False, "error": "message_not_found"})
        print(f"  ↳ Slack {CHANNEL}: message {body['ts']} edited to: {_header(body)}", flush=True)
        return web.json_response({"ok": True, "channel": CHANNEL_ID, "ts": body["ts"]})

    app = web.Application()
    app.router.add_post("/api/chat.postMessage", post_message)
    app.router.add_post("/api/chat.update", update)
    async with serving(app) as port:
        yield port


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[int]:
    """`app` on a free port of 127.0.0.1 (yielded), for the duration of the block."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


async def stage(world: World, stall_seconds: float, sleep: Sleep = asyncio.sleep) -> None:
    """A publish server's bad minute: STORM publishes of company 47 failing within seconds (one Slack digest),
    and a job that stalls, then moves on (its resolution replies in the stall's thread and edits it)."""
    # One file in 15 s, then no progress: called stalled `stall_seconds` later, finished well after that.
    stalled = world.add_job(JobSpec(STORM_COMPANY, "ImageServingPublish", "stall", "Summer lookbook", queued=1.0,
                                    run=600.0, files=40, stall_files=1))  # fmt: skip
    await sleep(20 / world.clock.speed)
    for n in range(STORM):
        world.add_job(JobSpec(STORM_COMPANY, "ImageServingPublish", "failure", f"Storm batch {n + 1}", queued=0.5,
                              run=10.0 + n / 10, files=20))  # fmt: skip
    await sleep((stall_seconds + 100) / world.clock.speed)
    world.finish(stalled.job_handle, "success")
