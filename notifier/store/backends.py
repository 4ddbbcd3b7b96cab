"""`open_store`: the state store a `state:` URL names, by its scheme; the only place that picks a backend."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from notifier.store.errors import StoreError
from notifier.store.location import StateLocation
from notifier.store.protocol import Store


@contextlib.asynccontextmanager
async def open_store(location: StateLocation, *, daemon: bool = False, lease: float = 15.0) -> AsyncIterator[Store]:
    """The store at `location`, closed when the block ends.

    `daemon`: the caller is a daemon that will work on the store (operator commands are not). An embedded store
    serves one daemon at a time: the SQLite file is locked for as long as the block runs, and a second daemon
    on it is refused (`StateInUse`) before it could send anything twice. A shared store serves any number of
    them: a daemon listens for the others' commits, and counts a replica silent for `lease` seconds as gone.
    """
    if location.scheme == "postgresql":
        from notifier.store.postgres.store import PostgresStore

        shared = await PostgresStore.open(location, member_ttl=lease, listen=daemon)
        try:
            yield shared
        finally:
            await shared.close()
        return
    if location.scheme != "sqlite":
        raise StoreError(f"no state store for {location.scheme}:// (state: {location.url})")
    from notifier.store.sqlite.lock import exclusive
    from notifier.store.sqlite.store import SqliteStore

    with exclusive(location.path) if daemon else contextlib.nullcontext():
        store = await SqliteStore.open(location.path)
        try:
            yield store
        finally:
            await store.close()
