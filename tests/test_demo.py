"""`notifier demo`: one command, no credentials — simulator, daemon, verified webhooks, status page, clean Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import aiohttp

from tests.channels.support import free_port
from tests.test_lifecycle import _collect


async def test_demo_runs_everything_locally_and_stops_on_ctrl_c() -> None:
    """Within seconds the demo prints where to look, verified webhook deliveries and console notifications;
    the status page answers; SIGINT stops everything with exit code 0."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "notifier", "demo", "--port", str(port), "--speed", "20",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stderr is not None
    out: list[str] = []
    err: list[str] = []
    readers = [asyncio.create_task(_collect(proc.stdout, out)), asyncio.create_task(_collect(proc.stderr, err))]
    try:
        await _until(lambda: any("verified" in line for line in out) and any(_is_json(x) for x in out), err)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/status") as page:
                assert page.status == 200
                assert "text/html" in page.headers["Content-Type"]
            async with session.get(f"http://127.0.0.1:{port}/healthz") as health:
                assert health.status == 200
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await asyncio.gather(*readers, return_exceptions=True)
    assert any(f"http://127.0.0.1:{port}/status" in line for line in err)
    assert not any("REJECTED" in line for line in out)
    assert not any("Traceback" in line for line in err)


def _is_json(line: str) -> bool:
    if not line.startswith("{"):
        return False
    return "rule" in json.loads(line)["data"]


async def _until(condition: object, err: list[str], within: float = 40.0) -> None:
    assert callable(condition)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "the demo did not deliver in time:\n" + "\n".join(err[-20:])
        await asyncio.sleep(0.1)
