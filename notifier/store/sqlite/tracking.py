"""What each company's trackers leave in the SQLite store: its poll mark and the state of each of its schedules.

A restarted daemon reads them back, so a job that ended while it was down is still announced, a fire time that
came meanwhile is still judged, and a miss it had reported is neither reported again nor left open for ever.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from notifier.ingest.marks import PollMark, TrackerSeed
from notifier.ingest.schedules.state import ScheduleState, mark_to_dict
from notifier.store.operations import decoded, schedule_states
from notifier.store.sqlite.connection import Connection, operation

SAVE_MARK = "INSERT OR REPLACE INTO poll_marks VALUES (?, ?, ?, ?)"
MARK_COLUMNS = "SELECT company, polled_at, floor, locales FROM poll_marks"
SCHEDULE_COLUMNS = "SELECT company, schedule, body FROM schedule_marks"


class TrackingRows(Connection):
    """Per company, its poll mark and its schedules' states; a schedules save replaces all known of the company."""

    handles: dict[str, str]  # companies configured by name: the handle each resolved to (in memory)

    @operation
    async def seed(self, company: str, now: datetime, *, first_look: bool, name: str | None = None) -> TrackerSeed:
        """The company's marks as stored; with `first_look`, a company without a mark gets one at `now`, in the
        same transaction (what is returned is still what was stored before). With `name`, the name is kept as
        this handle's for as long as the process runs: only replicas sharing a store need it from the store."""
        if name is not None:
            self.handles[name] = company
        async with self.transaction() as db:
            async with db.execute(MARK_COLUMNS + " WHERE company = ?", (company,)) as cur:
                marks = await cur.fetchall()
            async with db.execute(SCHEDULE_COLUMNS + " WHERE company = ?", (company,)) as cur:
                schedules = await cur.fetchall()
            if first_look and not marks:
                await db.executemany(SAVE_MARK, mark_rows({company: PollMark(now, now, {})}))
        return decoded(lambda: TrackerSeed(_poll_marks(marks).get(company), schedule_states(schedules).get(company)))

    @operation
    async def save_poll_marks(self, marks: Mapping[str, PollMark]) -> None:
        async with self.transaction() as db:
            await db.executemany(SAVE_MARK, mark_rows(marks))

    @operation
    async def poll_marks(self) -> dict[str, PollMark]:
        async with self.reading() as db, db.execute(MARK_COLUMNS) as cur:
            rows = await cur.fetchall()
        return decoded(lambda: _poll_marks(rows))

    @operation
    async def save_schedule_marks(self, marks: Mapping[str, Mapping[str, ScheduleState]]) -> None:
        async with self.transaction() as db:
            await write_schedule_marks(db, marks)

    @operation
    async def schedule_marks(self) -> dict[str, dict[str, ScheduleState]]:
        async with self.reading() as db, db.execute(SCHEDULE_COLUMNS) as cur:
            rows = await cur.fetchall()
        return decoded(lambda: schedule_states(rows))


def mark_rows(marks: Mapping[str, PollMark]) -> list[tuple[str, str, str, str]]:
    return [
        (company, m.polled_at.isoformat(), m.floor.isoformat(), json.dumps(dict(m.locales)))
        for company, m in marks.items()
    ]


async def write_schedule_marks(db: aiosqlite.Connection, marks: Mapping[str, Mapping[str, ScheduleState]]) -> None:
    """Replace what is known of each company in `marks` with its schedules' states, inside a transaction."""
    rows = [
        (company, key, json.dumps(mark_to_dict(state), ensure_ascii=False))
        for company, states in marks.items()
        for key, state in states.items()
    ]
    if marks:
        await db.executemany("DELETE FROM schedule_marks WHERE company=?", [(c,) for c in marks])
    if rows:
        await db.executemany("INSERT INTO schedule_marks VALUES (?, ?, ?)", rows)


def _poll_marks(rows: Iterable[Sequence[Any]]) -> dict[str, PollMark]:
    return {r[0]: PollMark(stored_time(r[1]), stored_time(r[2]), json.loads(r[3])) for r in rows}


def stored_time(text: str) -> datetime:
    """A time as stored (ISO 8601); one stored without a zone is UTC."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
