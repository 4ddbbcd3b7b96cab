"""The operator's window served on `http.listen`: started first and stopped last, so it answers (and says
whether the daemon is ready) while the pipeline starts and while it drains."""

from __future__ import annotations

import structlog
from aiohttp import web

from notifier.config import HttpConfig
from notifier.runtime.tasks import Tasks
from notifier.web import create_app
from notifier.web.source import StatusSource

log = structlog.get_logger(__name__)


class Window:
    """The HTTP server of `create_app(source)`; nothing when `http.listen` is not set."""

    def __init__(self, source: StatusSource, http: HttpConfig) -> None:
        self.source = source
        self.http = http
        self.port: int | None = None  # the port bound (`listen` may ask for port 0: any free one)
        self._runner: web.AppRunner | None = None

    async def start(self, tasks: Tasks) -> None:
        if not self.http.listen:
            return
        runner = web.AppRunner(create_app(self.source), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.http.host, self.http.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("http listening", listen=f"{self.http.host}:{self.port}")

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def url(self, path: str = "/") -> str:
        """Where the window answers, e.g. for a test or a script (`http.listen` must be set)."""
        if self.port is None:
            raise RuntimeError("the window is not served (http.listen is not set)")
        host = self.http.host if ":" not in self.http.host else f"[{self.http.host}]"
        return f"http://{host}:{self.port}{path}"
