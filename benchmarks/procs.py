"""Processes a benchmark starts and measures: the simulator, `notifier run`, receivers; free ports, CPU and RSS.

Every process is started here, on 127.0.0.1 and a free port, and stopped by its own pid when the block ends.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from notifier.ips.simulator.server import SERVICE_PATH

__all__ = [
    "SERVICE_PATH",
    "cpu_seconds",
    "daemon_config",
    "free_port",
    "rss_bytes",
    "started",
    "wait_until_answering",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def started(command: Sequence[str], **popen: Any) -> Iterator[subprocess.Popen[bytes]]:
    """`command` in its own process for the duration of the block; terminated (then killed) by its pid."""
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    process = subprocess.Popen(list(command), **popen)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def simulator_command(port: int, scenario: str, *options: str) -> list[str]:
    """`notifier simulate` on 127.0.0.1:`port`."""
    return [sys.executable, "-m", "notifier", "simulate", "--listen", f"127.0.0.1:{port}", "--scenario", scenario,
            *options]  # fmt: skip


async def wait_until_answering(url: str, process: subprocess.Popen[bytes], limit: float = 120.0) -> None:
    """Until GET `url` answers 2xx; fails when the process exits first or `limit` seconds pass."""
    deadline = time.monotonic() + limit
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args!r} exited with status {process.returncode}")
            try:
                async with session.get(url) as response:
                    if response.status < 300:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {limit:.0f} s")


def daemon_config(directory: Path, ips: str, companies: int, rules: str, rest: str) -> Path:
    """A config file for `notifier run` against the simulator's companies 1000, 1001, …; `rest` adds settings."""
    handles = "".join(f'  - handle: "{1000 + i}"\n' for i in range(companies))
    path = directory / "notifier.yaml"
    path.write_text(
        f"ips: {{endpoint: {ips}, user: demo@example.com, password: demo}}\ncompanies:\n{handles}"
        f"rules: {rules}\nstate: sqlite:///{directory / 'state.db'}\n{rest}"
    )
    return path


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc; NaN where that is not available."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (what it really holds in memory), from /proc; 0 where not available."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0
