"""A daemon for tests: the config file it reads, and `Harness`, which runs it through `Daemon.open` (the one entry
point `notifier run` uses) with time and polls driven by the test, its window served when configured."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from notifier.app.daemon import Daemon, Sleep
from notifier.app.observe import Listener
from notifier.config import Config, load_config
from notifier.runtime.clock import ManualClock
from tests.support.processes import SHIPPED_RULES
from tests.support.sim import PASSWORD, USER, Sim

CONSOLE = "  console: {type: console}"


def config_text(
    endpoint: str,
    *,
    ips: str | None = None,
    interval: str = "30s",
    unreachable_after: int = 2,
    companies: str = '[{handle: "47"}]',
    rules: Path | str | None = SHIPPED_RULES,
    poll: str = "",
    channels: str = CONSOLE,
    http: str | None = None,
    state: str = "sqlite:///state.db",
    grace: str = "2s",
    log: str | None = None,
    extra: str = "",
) -> str:
    """A config on the IPS at `endpoint` (or the `ips` section's content): the shipped rules (or `rules`; None:
    no rules) notifying a console channel (or `channels`, YAML lines under `channels:`); `poll` adds poll
    settings, `http` and `log` those sections' content, `extra` whole sections."""
    ips = ips or f'endpoint: "{endpoint}", user: {USER}, password: {PASSWORD}, timeout: 5s'
    lines = [
        f"ips: {{{ips}}}",
        f"poll: {{interval: {interval}, unreachable_after: {unreachable_after}{', ' + poll if poll else ''}}}",
        f"companies: {companies}",
        *([f"rules: {rules}"] if rules is not None else []),
        f"state: {state}",
        f"shutdown_grace: {grace}",
        "channels:",
        channels,
    ]
    if http is not None:
        lines.append(f"http: {{{http}}}")
    if log is not None:
        lines.append(f"log: {{{log}}}")
    return "\n" + "\n".join(lines) + "\n" + extra


def write_config(directory: Path, endpoint: str, name: str = "notifier.yaml", **settings: Any) -> Path:
    """`config_text(endpoint, **settings)` written to `directory/name`."""
    path = directory / name
    path.write_text(config_text(endpoint, **settings), encoding="utf-8")
    return path


def daemon_config(directory: Path, sim: Sim, **settings: Any) -> Config:
    """The config a `Harness` runs on the simulator (see `config_text`), loaded."""
    return load_config(write_config(directory, sim.endpoint, **settings))


class Harness:
    """A daemon on the simulator whose polls and time the test drives; stopped when `running` ends."""

    def __init__(self, sim: Sim, config: Config, clock: ManualClock) -> None:
        self.sim, self.config, self.clock = sim, config, clock
        self._daemon: Daemon | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def daemon(self) -> Daemon:
        if self._daemon is None:
            raise RuntimeError("the daemon is not running")
        return self._daemon

    @asynccontextmanager
    async def running(self, *, listeners: Sequence[Listener] = (), sleep: Sleep | None = None) -> AsyncIterator[Daemon]:
        """`Daemon.open` on the config, polling left to the test (`poll`)."""
        waits = {"sleep": sleep} if sleep is not None else {}
        async with (
            Daemon.open(self.config, clock=self.clock, polling=False, listeners=listeners, **waits) as daemon,
            aiohttp.ClientSession() as session,
        ):
            self._daemon, self._session = daemon, session
            try:
                yield daemon
            finally:
                self._daemon, self._session = None, None

    @property
    def session(self) -> aiohttp.ClientSession:
        """An HTTP client for the window, open while the daemon runs."""
        if self._session is None:
            raise RuntimeError("the daemon is not running")
        return self._session

    def advance(self, seconds: float) -> None:
        """Move the simulator's world and the daemon's clock together."""
        self.sim.world.advance(seconds)
        self.clock.advance(seconds)

    async def poll(self, after: float = 0.0) -> None:
        """Advance by `after` seconds, poll every company once, let events reach the outbox and the channels."""
        if after:
            self.advance(after)
        for poller in self.daemon.pollers.pollers:
            await poller.poll_once()
        await self.daemon.settle()

    def url(self, path: str) -> str:
        """The daemon's window (the config must set `http.listen`, e.g. to 127.0.0.1:0)."""
        return self.daemon.window.url(path)

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(self.url(path)) as response:
            return response.status, await response.text()

    async def json(self, path: str, status: int = 200) -> Any:
        async with self.session.get(self.url(path)) as response:
            assert response.status == status, await response.text()
            return await response.json()


def console_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The console channel's notifications printed since the last look."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def summary(lines: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(rule, status, name) per notification: the job's original name, or the schedule's for a schedule's own."""
    return [(d["data"]["rule"], d["data"]["status"], subject_name(d)) for d in lines]


def subject_name(line: dict[str, Any]) -> str:
    data = line["data"]
    about = data["schedule"] if line["type"].startswith("schedule.") else data["job"]
    return str(about["original_name"])
