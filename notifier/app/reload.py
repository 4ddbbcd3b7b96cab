"""Reloading (SIGHUP): the config file, rules, templates and catalogs read again and switched to, all or
nothing. On any error the running setup stays and the errors are logged as `file:line: message`.

Companies are added and removed live (the others keep their trackers, so no job's ending is missed), changed
channels take over once sends in flight finish, and a channel a 410 had disabled is enabled again when its
settings change. What a running daemon cannot switch (`state`, `state_password`, `cluster`, `http.listen`,
`poll.queue_size`) is kept.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from notifier.app.logs import configure_logging
from notifier.app.setup import Fresh, keep_restart_only, load_for_reload
from notifier.app.wiring import build_lanes, company_plans, ips_settings, retry_settings
from notifier.config import Config
from notifier.dispatch.dispatcher import Lane
from notifier.ips.client import IpsClient
from notifier.models import CompanyId
from notifier.runtime.tasks import Loop
from notifier.safety import learn

if TYPE_CHECKING:
    from notifier.app.daemon import Daemon

log = structlog.get_logger(__name__)


class Reloader(Loop):
    """Switches a running daemon to a fresh read of its config file; `request` asks for it from a signal."""

    name = "reloader"

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self._wanted = asyncio.Event()

    def request(self) -> None:
        """Reload as soon as possible (safe to call from a signal handler)."""
        self._wanted.set()

    async def run(self) -> None:
        """Reload whenever asked, one reload at a time."""
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            await self.reload()

    async def reload(self, path: Path | None = None) -> bool:
        """Switch to a fresh read of the config file (`path`, default the running one's); False when anything in
        it is wrong, and then nothing changed."""
        running = self.daemon.config
        try:
            fresh = load_for_reload(path or running.source)
            if fresh is None:
                return False
            config = keep_restart_only(fresh.config, running)
            # Built before anything switches, so a channel that cannot be built leaves all as it was.
            changed = config.channels != running.channels
            lanes = build_lanes(config, self.daemon.delivering, self.daemon.clock) if changed else None
        except Exception:  # whatever it is, it must not take the running daemon down with it
            log.exception("reload failed, keeping the running configuration")
            return False
        await self._switch(config, fresh, lanes)
        counts = {"rules": len(fresh.rules.rules), "companies": len(config.companies), "channels": len(config.channels)}
        log.info("reloaded", **counts)
        return True

    async def _switch(self, config: Config, fresh: Fresh, lanes: dict[str, Lane] | None) -> None:
        # Channels first: a new rule may name a new channel, and its first notification must find it there.
        daemon, running = self.daemon, self.daemon.config
        learn(config)
        if config.log != running.log:
            configure_logging(config.log.format, config.log.level)
        if lanes is not None:
            await self._reenable_changed(config, running)
            await daemon.dispatcher.replace_lanes(lanes)
        daemon.dispatcher.retry = retry_settings(config)
        daemon.dispatcher.grace = config.shutdown_grace
        daemon.engine.replace_rules(fresh.rules)
        daemon.composer.renderer = fresh.renderer
        ips_changed = (config.ips, config.poll.concurrency) != (running.ips, running.poll.concurrency)
        client = IpsClient(daemon.ips, ips_settings(config), asyncio.Semaphore(config.poll.concurrency))
        daemon.pollers.configure(company_plans(config), client if ips_changed else None)
        daemon.config = config
        await daemon.ownership.settle()
        self._forget_removed_companies()
        await daemon.composer.process([])  # alerts dropped with their rule or company are dropped from the store now

    def _forget_removed_companies(self) -> None:
        """Alerts of a company no longer configured could never resolve: forget them (said in the log)."""
        pollers = self.daemon.pollers
        configured: list[CompanyId] = []
        for key in pollers.plans:
            company = pollers.identity(key)  # another replica's resolved handle, when it polls the company
            if not company.handle:
                return  # a company not resolved yet may own alerts under its handle: decide on a later reload
            configured.append(company)
        gone = self.daemon.engine.forget(lambda a: any(c.is_known_as(a.company) for c in configured))
        for alert in gone:
            log.info("alert of a removed company forgotten", rule=alert.rule, company=alert.company, job=alert.job)

    async def _reenable_changed(self, config: Config, running: Config) -> None:
        """A channel disabled by its endpoint (410) whose settings changed is one the operator just fixed."""
        for name in await self.daemon.store.disabled_channels():
            if name in config.channels and config.channels[name] != running.channels.get(name):
                await self.daemon.store.enable_channel(name)
                log.info("channel re-enabled: its settings changed", channel=name)
