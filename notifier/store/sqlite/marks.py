"""Schedule marks in the state store: what each company's schedule watch knew at its last save.

A restarted daemon reads them back, so a fire time that came while it was down is still judged, and a miss it
had reported is neither reported again nor left open for ever.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import aiosqlite

from notifier.ingest.schedules.state import ScheduleState, mark_from_dict, mark_to_dict
from notifier.store.sqlite.connection import Connection, decoded, operation

SCHEMA = """
CREATE TABLE IF NOT EXISTS schedule_marks (
    company TEXT NOT NULL, schedule TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (company, schedule));
"""


class ScheduleStore(Connection):
    """Per company, the state of each of its schedules; a save replaces everything known of that company."""

    @operation
    async def save_schedule_marks(self, marks: Mapping[str, Mapping[str, ScheduleState]]) -> None:
        async with self.transaction() as db:
            await write_schedule_marks(db, marks)

    @operation
    async def schedule_marks(self) -> dict[str, dict[str, ScheduleState]]:
        sql = "SELECT company, schedule, body FROM schedule_marks"
        async with self.reading() as db, db.execute(sql) as cur:
            rows = await cur.fetchall()
        return decoded(lambda: _marks(rows))


def _marks(rows: Iterable[Sequence[Any]]) -> dict[str, dict[str, ScheduleState]]:
    marks: dict[str, dict[str, ScheduleState]] = {}
    for company, key, body in rows:
        marks.setdefault(company, {})[key] = mark_from_dict(json.loads(body))
    return marks


async def write_schedule_marks(db: aiosqlite.Connection, marks: Mapping[str, Mapping[str, ScheduleState]]) -> None:
    """Replace what is known of each company in `marks` with its schedules' states, inside a transaction."""
    rows = [
        (company, key, json.dumps(mark_to_dict(state), ensure_ascii=False))
        for company, states in marks.items()
        for key, state in states.items()
    ]
    await db.executemany("DELETE FROM schedule_marks WHERE company=?", [(c,) for c in marks])
    await db.executemany("INSERT INTO schedule_marks VALUES (?, ?, ?)", rows)
