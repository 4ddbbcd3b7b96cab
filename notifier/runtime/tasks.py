"""The daemon's lifecycle: components started in order and stopped in reverse, their long-lived tasks all in
one `asyncio.TaskGroup`, each supervised, each cancelled by the component that started it.

A crash of a supervised task is logged and the task restarted (see `supervise`), so none of them can end the
group; cancelling is how a component stops what it started, and the group guarantees nothing outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import ClassVar, Protocol

from notifier.runtime.supervise import supervise

Factory = Callable[[], Awaitable[None]]


class Tasks:
    """Spawns supervised tasks into a task group and cancels them again."""

    def __init__(self, group: asyncio.TaskGroup) -> None:
        self._group = group
        self._running: set[asyncio.Task[None]] = set()

    def spawn(self, name: str, factory: Factory) -> asyncio.Task[None]:
        """Run `factory()` under supervision until it returns or is cancelled."""
        task = self._group.create_task(supervise(name, factory), name=name)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    async def cancel_all(self) -> None:
        """Cancel whatever is still running, so the group can close."""
        await cancel(*self._running)


async def cancel(*tasks: asyncio.Task[None] | None) -> None:
    """Cancel `tasks` and wait until each has ended (`None` stands for a task never started)."""
    chosen = [task for task in tasks if task is not None]
    for task in chosen:
        task.cancel()
    await asyncio.gather(*chosen, return_exceptions=True)


class Component(Protocol):
    """A part of the daemon with a lifecycle: `start` spawns its tasks, `stop` ends them and finishes its work."""

    async def start(self, tasks: Tasks) -> None: ...

    async def stop(self) -> None: ...


@contextlib.asynccontextmanager
async def started(components: Sequence[Component], tasks: Tasks) -> AsyncIterator[None]:
    """`components` started in order and, however the block ends, stopped in the reverse order: what starts
    last (polling) stops first, what starts first (delivery, the window) stops last."""
    running: list[Component] = []
    try:
        for component in components:
            await component.start(tasks)
            running.append(component)
        yield
    finally:
        for component in reversed(running):
            await component.stop()


class Loop:
    """A component whose work is one supervised `run` loop, named `name`: `start` spawns it, `stop` cancels it
    and waits until it has ended. Components with more to do on either side extend both."""

    name: ClassVar[str]
    _loop: asyncio.Task[None] | None = None

    async def run(self) -> None:
        raise NotImplementedError

    async def start(self, tasks: Tasks) -> None:
        self._loop = tasks.spawn(self.name, self.run)

    async def stop(self) -> None:
        loop, self._loop = self._loop, None
        await cancel(loop)
