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
STORM, STORM_COMPANY, STALLED_JOB = 40, "47", "Summer lookbook"
Sleep = Callable[[float], Awaitable[None]]


def _header(body: dict[str, Any]) -> str:
    blocks = body.get("blocks") or []
    first = blocks[0].get("text", {}).get("text") if blocks and isinstance(blocks[0], dict) else None
    return str(first or body.get("text", "")).splitlines()[0]


class Workspace:
    """The fake's messages, printed as they come; `mentioned` waits for one that names something."""

    def __init__(self) -> None:
        self.posted: list[str] = []  # each message's header, its `ts` being its position from 1
        self._changed = asyncio.Event()

    async def mentioned(self, text: str) -> None:
        while not any(text in header for header in self.posted):
            self._changed.clear()
            await self._changed.wait()

    async def post_message(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.posted.append(_header(body))
        self._changed.set()
        ts, thread = str(len(self.posted)), body.get("thread_ts")
        where = f"reply in the thread of message {thread}" if thread else f"message {ts}"
        print(f"  ↳ Slack {CHANNEL}: {where}: {self.posted[-1]}", flush=True)
        return web.json_response({"ok": True, "channel": CHANNEL_ID, "ts": ts})

    async def update(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not str(body.get("ts", "")).isdigit() or not 0 < int(body["ts"]) <= len(self.posted):
            return web.json_response({"ok": False, "error": "message_not_found"})
        print(f"  ↳ Slack {CHANNEL}: message {body['ts']} edited to: {_header(body)}", flush=True)
        return web.json_response({"ok": True, "channel": CHANNEL_ID, "ts": body["ts"]})


@asynccontextmanager
async def slack_workspace() -> AsyncIterator[tuple[int, Workspace]]:
    """A Slack Web API fake on a free port of 127.0.0.1 (yielded, with its messages) printing every message,
    reply and edit."""
    workspace = Workspace()
    app = web.Application()
    app.router.add_post("/api/chat.postMessage", workspace.post_message)
    app.router.add_post("/api/chat.update", workspace.update)
    async with serving(app) as port:
        yield port, workspace


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


async def stage(world: World, workspace: Workspace, sleep: Sleep = asyncio.sleep) -> None:
    """A publish server's bad minute: STORM publishes of company 47 failing within seconds (a Slack digest), and a
    job that stalls, then, once Slack was told it stalled, moves on (its resolution replies in that thread)."""
    # One file in 15 s, then no progress until it is finished here.
    stalled = world.add_job(JobSpec(STORM_COMPANY, "ImageServingPublish", "stall", STALLED_JOB, queued=1.0,
                                    run=600.0, files=40, stall_files=1))  # fmt: skip
    await sleep(20 / world.clock.speed)
    for n in range(STORM):
        world.add_job(JobSpec(STORM_COMPANY, "ImageServingPublish", "failure", f"Storm batch {n + 1}", queued=0.5,
                              run=10.0 + n / 10, files=20))  # fmt: skip
    await workspace.mentioned(STALLED_JOB)
    await sleep(30 / world.clock.speed)
    world.finish(stalled.job_handle, "success")
