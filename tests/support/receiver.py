"""One webhook receiver for every test that delivers over HTTP: a real aiohttp server on 127.0.0.1, port 0.

It answers each path from a script (then a default), keeps every request it got, checks Standard Webhooks
signatures with the independent `standardwebhooks` package when given the secret, and can hold requests
open (a receiver that hangs) until released.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks.webhooks import Webhook


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    text: str = ""


@dataclass(frozen=True, slots=True)
class Seen:
    """One request as it arrived."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """What the endpoint answers (per path: scripted replies, then `always[path]`, then 204) and what it saw."""

    def __init__(self, *, secret: str | None = None) -> None:
        self.secret = secret
        self.requests: list[Seen] = []
        self.invalid: list[str] = []  # requests whose signature did not verify, by webhook-id
        self.always: dict[str, Reply] = {}
        self.answers: int | None = None  # answer this many more, then hold every request until `release()`
        self.delay = 0.0  # seconds each answer takes: a slow receiver
        self.held = 0
        self.answered: list[Seen] = []  # the requests it has answered, in the order it answered them
        self._script: dict[str, list[Reply]] = defaultdict(list)
        self._released = asyncio.Event()
        self.server: TestServer | None = None

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to `path` with `replies`, in order."""
        self._script[path].extend(replies)

    def url(self, path: str = "/hook") -> str:
        if self.server is None:
            raise RuntimeError("the receiver is not serving")
        return str(self.server.make_url(path))

    def hits(self, path: str) -> int:
        return sum(1 for seen in self.requests if seen.path == path)

    def release(self) -> None:
        """Answer every held request, and every later one at once."""
        self.answers = None
        self._released.set()

    async def handle(self, request: web.Request) -> web.Response:
        """Keep the request, then answer it as scripted (after holding it, or waiting `delay`)."""
        seen = Seen(request.method, request.path, dict(request.headers), await request.read())
        self.requests.append(seen)
        if self.secret is not None:
            self._verify(seen)
        if self.answers is not None:
            if self.answers <= 0:
                self.held += 1
                await self._released.wait()
            else:
                self.answers -= 1
        if self.delay:
            await asyncio.sleep(self.delay)
        script = self._script.get(request.path)
        reply = script.pop(0) if script else self.always.get(request.path, Reply())
        self.answered.append(seen)
        return web.Response(status=reply.status, headers=reply.headers, text=reply.text)

    def _verify(self, seen: Seen) -> None:
        try:
            Webhook(self.secret or "").verify(seen.body, seen.headers)
        except Exception as exc:  # any refusal is a test failure, reported with the id
            self.invalid.append(f"{seen.headers.get('webhook-id', '')}: {exc}")


@asynccontextmanager
async def serving(receiver: Receiver, tls: ssl.SSLContext | None = None) -> AsyncIterator[Receiver]:
    """`receiver` listening on a port of its own (over TLS with `tls`) until the block ends; held requests are
    released first."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server(ssl=tls)
    receiver.server = server
    try:
        yield receiver
    finally:
        receiver.release()
        await server.close()
        receiver.server = None
