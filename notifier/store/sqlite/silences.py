"""Silences in the SQLite store, and how many deliveries each of them held back."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from notifier.engine.silences import Silence
from notifier.safety import SCRUBBER
from notifier.store.operations import decoded
from notifier.store.sqlite.connection import Connection, operation
from notifier.store.sqlite.tracking import stored_time


class SilenceRows(Connection):
    @operation
    async def add_silence(
        self, matchers: Sequence[tuple[str, str]], starts_at: datetime, ends_at: datetime, comment: str, created_by: str
    ) -> Silence:
        silence = Silence(uuid.uuid4().hex[:12], tuple(matchers), starts_at, ends_at, comment, created_by)
        row = (silence.id, json.dumps(list(silence.matchers)), starts_at.isoformat(), ends_at.isoformat(),
               SCRUBBER(comment), created_by)  # fmt: skip
        async with self.transaction() as db:
            await db.execute("INSERT INTO silences VALUES (?, ?, ?, ?, ?, ?)", row)
        return silence

    @operation
    async def silences(self) -> list[Silence]:
        sql = "SELECT id, matchers, starts_at, ends_at, comment, created_by FROM silences ORDER BY starts_at"
        rows = await self.fetch(sql)
        return decoded(lambda: [_silence(r) for r in rows])

    @operation
    async def expire_silence(self, silence_id: str, now: datetime) -> bool:
        async with self.transaction() as db:
            cur = await db.execute(
                "UPDATE silences SET ends_at=? WHERE id=? AND ends_at > ?",
                (now.isoformat(), silence_id, now.isoformat()),
            )
        return cur.rowcount > 0

    @operation
    async def silenced_counts(self) -> dict[str, int]:
        """Deliveries each silence held back, whether or not the notification's other targets went out."""
        sql = "SELECT silenced_by, COUNT(*) FROM deliveries WHERE silenced_by IS NOT NULL GROUP BY silenced_by"
        async with self.reading() as db, db.execute(sql) as cur:
            return {r[0]: r[1] for r in await cur.fetchall()}


def _silence(r: Sequence[Any]) -> Silence:
    matchers = tuple((m[0], m[1]) for m in json.loads(r[1]))
    return Silence(r[0], matchers, stored_time(r[2]), stored_time(r[3]), r[4], r[5])
