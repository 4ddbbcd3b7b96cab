"""What the PostgreSQL store keeps beside the outbox: each company's poll mark and schedule states, and silences."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from notifier.engine.silences import Silence
from notifier.ingest.marks import PollMark, TrackerSeed
from notifier.ingest.schedules.state import ScheduleState, mark_to_dict
from notifier.safety import SCRUBBER
from notifier.store.operations import decoded, schedule_states
from notifier.store.postgres.connection import Db, Pool, Row, operation

SAVE_MARK = (
    "INSERT INTO poll_marks VALUES ($1, $2, $3, $4) ON CONFLICT (company) DO UPDATE"
    " SET polled_at = EXCLUDED.polled_at, floor = EXCLUDED.floor, locales = EXCLUDED.locales"
)
MARK_COLUMNS = "SELECT company, polled_at, floor, locales FROM poll_marks"
SCHEDULE_COLUMNS = "SELECT company, schedule, body FROM schedule_marks"
SAVE_HANDLE = "INSERT INTO company_handles VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET handle = EXCLUDED.handle"


class TrackingRows(Pool):
    """Per company, its poll mark and its schedules' states; a schedules save replaces all known of the company."""

    @operation
    async def seed(self, company: str, now: datetime, *, first_look: bool, name: str | None = None) -> TrackerSeed:
        """The company's marks as stored; with `first_look`, a company without a mark gets one at `now`, and with
        `name`, the name is kept as this handle's, in the same transaction (what is returned is still what was
        stored before)."""
        async with self.transaction() as db:
            if name is not None:
                await db.execute(SAVE_HANDLE, name, company)
            marks = await db.fetch(MARK_COLUMNS + " WHERE company = $1", company)
            schedules = await db.fetch(SCHEDULE_COLUMNS + " WHERE company = $1", company)
            if first_look and not marks:
                # A mark another replica wrote meanwhile stays as it is.
                first = mark_rows({company: PollMark(now, now, {})})
                await db.executemany("INSERT INTO poll_marks VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", first)
        return decoded(
            lambda: TrackerSeed(_poll_marks(marks).get(company), schedule_states(map(tuple, schedules)).get(company))
        )

    @operation
    async def company_handles(self) -> dict[str, str]:
        async with self.connection() as db:
            return {r[0]: r[1] for r in await db.fetch("SELECT name, handle FROM company_handles")}

    @operation
    async def save_poll_marks(self, marks: Mapping[str, PollMark]) -> None:
        async with self.transaction() as db:
            await db.executemany(SAVE_MARK, mark_rows(marks))

    @operation
    async def poll_marks(self) -> dict[str, PollMark]:
        async with self.connection() as db:
            rows = await db.fetch(MARK_COLUMNS)
        return decoded(lambda: _poll_marks(rows))

    @operation
    async def save_schedule_marks(self, marks: Mapping[str, Mapping[str, ScheduleState]]) -> None:
        async with self.transaction() as db:
            await write_schedule_marks(db, marks)

    @operation
    async def schedule_marks(self) -> dict[str, dict[str, ScheduleState]]:
        async with self.connection() as db:
            rows = await db.fetch(SCHEDULE_COLUMNS)
        return decoded(lambda: schedule_states(map(tuple, rows)))

    # ------------------------------------------------------------------------------------------ silences

    @operation
    async def add_silence(
        self, matchers: Sequence[tuple[str, str]], starts_at: datetime, ends_at: datetime, comment: str, created_by: str
    ) -> Silence:
        silence = Silence(uuid.uuid4().hex[:12], tuple(matchers), starts_at, ends_at, comment, created_by)
        async with self.connection() as db:
            await db.execute(
                "INSERT INTO silences VALUES ($1, $2, $3, $4, $5, $6)",
                silence.id, json.dumps(list(silence.matchers)), starts_at, ends_at, SCRUBBER(comment), created_by,
            )  # fmt: skip
        return silence

    @operation
    async def silences(self) -> list[Silence]:
        sql = "SELECT id, matchers, starts_at, ends_at, comment, created_by FROM silences ORDER BY starts_at, id"
        async with self.connection() as db:
            rows = await db.fetch(sql)
        return decoded(lambda: [_silence(r) for r in rows])

    @operation
    async def expire_silence(self, silence_id: str, now: datetime) -> bool:
        async with self.connection() as db:
            done = await db.execute("UPDATE silences SET ends_at = $1 WHERE id = $2 AND ends_at > $1", now, silence_id)
        return bool(done != "UPDATE 0")

    @operation
    async def silenced_counts(self) -> dict[str, int]:
        """Deliveries each silence held back, whether or not the notification's other targets went out."""
        sql = "SELECT silenced_by, count(*) FROM deliveries WHERE silenced_by IS NOT NULL GROUP BY silenced_by"
        async with self.connection() as db:
            return {r[0]: r[1] for r in await db.fetch(sql)}


def mark_rows(marks: Mapping[str, PollMark]) -> list[tuple[str, datetime, datetime, str]]:
    return [(company, m.polled_at, m.floor, json.dumps(dict(m.locales))) for company, m in marks.items()]


async def write_schedule_marks(db: Db, marks: Mapping[str, Mapping[str, ScheduleState]]) -> None:
    """Replace what is known of each company in `marks` with its schedules' states, inside a transaction."""
    rows = [
        (company, key, json.dumps(mark_to_dict(state), ensure_ascii=False))
        for company, states in marks.items()
        for key, state in states.items()
    ]
    await db.execute("DELETE FROM schedule_marks WHERE company = ANY($1::text[])", list(marks))
    if rows:
        await db.executemany("INSERT INTO schedule_marks VALUES ($1, $2, $3)", rows)


def _poll_marks(rows: Iterable[Row]) -> dict[str, PollMark]:
    return {r[0]: PollMark(r[1], r[2], json.loads(r[3])) for r in rows}


def _silence(r: Row) -> Silence:
    matchers = tuple((m[0], m[1]) for m in json.loads(r[1]))
    return Silence(r[0], matchers, r[2], r[3], r[4], r[5])
