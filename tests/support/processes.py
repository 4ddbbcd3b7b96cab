"""`python -m notifier …` as real processes from the repository, and what they print, read as it comes."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SHIPPED_RULES = REPO / "rules"
Spawn = Callable[..., Awaitable[asyncio.subprocess.Process]]


async def collect_lines(stream: asyncio.StreamReader, into: list[str]) -> None:
    """Append each line a subprocess writes to `into` as it arrives (decoded, without its newline)."""
    async for line in stream:
        into.append(line.decode("utf-8", "replace").rstrip("\n"))


@asynccontextmanager
async def processes() -> AsyncIterator[Spawn]:
    """A factory of `python -m notifier ARGS…` processes (output to the given files or pipes); whatever is still
    running when the block ends, passed or failed, is killed."""
    started: list[asyncio.subprocess.Process] = []

    async def spawn(*args: str, stdout: Any = asyncio.subprocess.PIPE, stderr: Any = asyncio.subprocess.PIPE) -> Any:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "notifier", *args, cwd=REPO, stdout=stdout, stderr=stderr
        )
        started.append(proc)
        return proc

    try:
        yield spawn
    finally:
        for proc in started:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
