"""`python -m notifier …` as real processes from the repository, and what they print, read as it comes."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPPED_RULES = REPO / "rules"


async def collect_lines(stream: asyncio.StreamReader, into: list[str]) -> None:
    """Append each line a subprocess writes to `into` as it arrives (decoded, without its newline)."""
    async for line in stream:
        into.append(line.decode("utf-8", "replace").rstrip("\n"))


class Running:
    """A process whose stdout and stderr are collected line by line as they come (`out`, `err`)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        assert proc.stderr is not None
        self.proc = proc
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            asyncio.create_task(collect_lines(proc.stdout, self.out)),
            asyncio.create_task(collect_lines(proc.stderr, self.err)),
        ]

    def send(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def logs(self) -> list[dict[str, Any]]:
        """The JSON log lines written to stderr so far."""
        return [json.loads(line) for line in self.err if line.startswith("{")]

    async def until(self, condition: Callable[[], bool], what: str, within: float = 20.0) -> None:
        """Wait (checking as lines arrive) until `condition` holds; fail with the tail of stderr if the process
        ends first or `within` seconds pass."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not condition():
            if loop.time() > deadline or self.proc.returncode is not None:
                tail = "\n".join(self.err[-20:])
                pytest.fail(f"timed out waiting for {what}; stderr:\n{tail}")
            await asyncio.sleep(0.05)

    async def exit_code(self, within: float = 20.0) -> int:
        """Wait for the process to exit (bounded) and for everything it printed to be read."""
        code = await asyncio.wait_for(self.proc.wait(), within)
        await asyncio.gather(*self._readers)
        return code

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


class Processes:
    """Starts `python -m notifier ARGS…`: called, with output to the given files or pipes; `collected`, with its
    output read into a `Running`."""

    def __init__(self) -> None:
        self.started: list[asyncio.subprocess.Process] = []
        self.collecting: list[Running] = []

    async def __call__(
        self, *args: str, stdout: Any = asyncio.subprocess.PIPE, stderr: Any = asyncio.subprocess.PIPE
    ) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "notifier", *args, cwd=REPO, stdout=stdout, stderr=stderr
        )
        self.started.append(proc)
        return proc

    async def collected(self, *args: str) -> Running:
        running = Running(await self(*args))
        self.collecting.append(running)
        return running

    async def kill_all(self) -> None:
        for running in self.collecting:
            await running.kill()
        for proc in self.started:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


@asynccontextmanager
async def processes() -> AsyncIterator[Processes]:
    """A `Processes`; whatever is still running when the block ends, passed or failed, is killed."""
    spawn = Processes()
    try:
        yield spawn
    finally:
        await spawn.kill_all()
