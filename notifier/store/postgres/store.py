"""The shared state store: one PostgreSQL database that several replicas of the daemon work on at once.

It keeps what the embedded store keeps (alert book, outbox, silences, tracker marks), scrubbed the same way and
committed with the same guarantees: a notification, its deliveries, the alert state and the poll marks that
produced them in one transaction, keyed so that a decision made twice (by two replicas, or one replaying after
a crash) is stored once. What the embedded store settles trivially is negotiated here: members heartbeat,
companies are leased (`acquire`), deliveries are claimed (`deliveries`). A commit that adds due deliveries
NOTIFYs every replica, whose listener wakes its dispatcher at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import structlog

from notifier.engine.book import Alert, AlertId
from notifier.ingest.leases import Lease, Member
from notifier.ingest.marks import PollDone
from notifier.models.codec import event_from_dict, event_to_dict
from notifier.safety import SCRUBBER
from notifier.store.errors import StoreError, describe
from notifier.store.location import StateLocation
from notifier.store.operations import decoded
from notifier.store.postgres.connection import Row, operation
from notifier.store.postgres.deliveries import WAKE_CHANNEL, DeliveryRows
from notifier.store.postgres.groups import GroupRows
from notifier.store.postgres.listener import CONNECT_TIMEOUT, Listener
from notifier.store.postgres.rows import insert_new
from notifier.store.postgres.schema import prepare
from notifier.store.postgres.tracking import SAVE_MARK, TrackingRows, mark_rows, write_schedule_marks
from notifier.store.records import Outgoing

log = structlog.get_logger(__name__)
COMMAND_TIMEOUT = 15.0  # seconds a statement may take before the operation counts as failed
PING_TIMEOUT = 2.0
POOL_SIZE = 8
MEMBER_MEMORY = timedelta(hours=1)  # members silent this long are forgotten (the status page lists the rest)
ALERT_COLUMNS = "SELECT rule, company, job, state, active_since, last_sent, sends, event FROM alerts"
UPSERT_ALERT = (
    "INSERT INTO alerts VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (rule, company, job) DO UPDATE SET"
    " state = EXCLUDED.state, active_since = EXCLUDED.active_since, last_sent = EXCLUDED.last_sent,"
    " sends = EXCLUDED.sends, event = EXCLUDED.event"
)


class PostgresStore(DeliveryRows, GroupRows, TrackingRows):
    """The `Store` in a PostgreSQL database: alert state and new notifications here, delivery rows in
    `DeliveryRows`, groups and their digests in `GroupRows`, tracker marks and silences in `TrackingRows`."""

    def __init__(self, pool: asyncpg.Pool, location: StateLocation, member_ttl: float) -> None:
        super().__init__(pool, _scrubber(location))
        self.location = location
        self.member_ttl = member_ttl
        self.listener = Listener(location, self.scrub)

    @classmethod
    async def open(cls, location: StateLocation, *, member_ttl: float = 15.0, listen: bool = False) -> PostgresStore:
        """The store in the database at `location`, its tables created or migrated; `StoreError` in one line
        when the server cannot be reached or the schema is newer. `listen`: wake subscribers on commits."""
        scrub = _scrubber(location)
        try:
            pool = await asyncpg.create_pool(
                location.url, password=location.password, min_size=1, max_size=POOL_SIZE,
                timeout=CONNECT_TIMEOUT, command_timeout=COMMAND_TIMEOUT, init=_session,
            )  # fmt: skip
        except Exception as exc:  # unreachable host, refused, bad password, no such database, bad sslmode …
            raise StoreError(f"cannot open the state database {display(location)}: {scrub(describe(exc))}") from None
        try:
            async with pool.acquire() as db:
                await prepare(db)
        except StoreError:
            await pool.close()
            raise
        except Exception as exc:
            await pool.close()
            raise StoreError(f"cannot prepare the state database {display(location)}: {scrub(describe(exc))}") from None
        store = cls(pool, location, member_ttl)
        if listen:
            store.listener.start()
        return store

    async def close(self) -> None:
        await self.listener.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.pool.close(), COMMAND_TIMEOUT)

    async def ping(self) -> None:
        """`SELECT 1` on a pooled connection: a server that cannot answer this fast cannot take notifications."""
        try:
            async with asyncio.timeout(PING_TIMEOUT), self.connection() as db:
                await db.fetchval("SELECT 1")
        except TimeoutError:
            raise StoreError(f"no answer within {PING_TIMEOUT:g}s") from None
        except Exception as exc:
            raise StoreError(self.scrub(describe(exc))) from exc

    # -------------------------------------------------------------------------------------- waking up

    def subscribe(self, wake: Callable[[], None]) -> None:
        """Call `wake` whenever any replica (or an operator) makes deliveries due now."""
        self.listener.wakers.append(wake)

    # ------------------------------------------------------------------------------------- alerts + outbox

    @operation
    async def load_alerts(self, companies: Collection[str] | None = None) -> list[Alert]:
        async with self.connection() as db:
            if companies is None:
                rows = await db.fetch(ALERT_COLUMNS)
            else:
                rows = await db.fetch(ALERT_COLUMNS + " WHERE company = ANY($1::text[])", list(companies))
        return decoded(lambda: [_alert(r) for r in rows])

    @operation
    async def commit(
        self,
        outgoing: Sequence[Outgoing],
        upserts: Iterable[Alert],
        deletes: Iterable[AlertId],
        now: datetime,
        polls: Sequence[PollDone] = (),
    ) -> list[str]:
        """Alert state, new notifications and what `polls` leave, in one transaction; returns the keys that were
        new. A key stored already (by anyone) or met earlier in the batch is left out: never sent twice."""
        first = list({item.notification.key: item for item in reversed(outgoing)}.values())[::-1]
        scrubbed = [replace(item, notification=SCRUBBER.notification(item.notification)) for item in first]
        async with self.transaction() as db:
            await db.executemany(UPSERT_ALERT, [_alert_row(a) for a in upserts])
            await db.executemany("DELETE FROM alerts WHERE rule = $1 AND company = $2 AND job = $3", list(deletes))
            new, due = await insert_new(db, scrubbed, now)
            if due:
                await db.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
            if polls:
                await db.executemany(SAVE_MARK, mark_rows({done.company: done.mark for done in polls}))
                schedules = {done.company: done.schedules for done in polls if done.schedules is not None}
                await write_schedule_marks(db, schedules)
        self.bodies.remember(item.notification for item in new)
        return [item.notification.key for item in new]

    # ------------------------------------------------------------------------------------------- cluster

    @operation
    async def heartbeat(self, member: Member) -> None:
        async with self.connection() as db:
            await db.execute(
                "INSERT INTO members VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE"
                " SET host = EXCLUDED.host, pid = EXCLUDED.pid, heartbeat = EXCLUDED.heartbeat",
                member.id, member.host, member.pid, member.heartbeat,
            )  # fmt: skip
            await db.execute("DELETE FROM members WHERE heartbeat < $1", member.heartbeat - MEMBER_MEMORY)

    @operation
    async def members(self, now: datetime) -> list[Member]:
        since = now - timedelta(seconds=self.member_ttl)
        async with self.connection() as db:
            sql = "SELECT id, host, pid, heartbeat FROM members WHERE heartbeat >= $1 ORDER BY id"
            rows = await db.fetch(sql, since)
        return [Member(r[0], r[1], r[2], r[3]) for r in rows]

    @operation
    async def acquire(self, owner: str, companies: Collection[str], now: datetime, lease: float) -> list[Lease]:
        """Take or renew leases where no one else holds one that is still running. Companies are taken in one
        order by everyone, so two replicas reaching for the same ones never deadlock."""
        wanted = sorted(set(companies))
        async with self.connection() as db:
            rows = await db.fetch(
                "INSERT INTO leases SELECT c, $1, $3 FROM unnest($2::text[]) AS c ORDER BY c"
                " ON CONFLICT (company) DO UPDATE SET owner = EXCLUDED.owner, until = EXCLUDED.until"
                " WHERE leases.owner = EXCLUDED.owner OR leases.until <= $4 RETURNING company, owner, until",
                owner, wanted, now + timedelta(seconds=lease), now,
            )  # fmt: skip
        held = {r[0]: Lease(r[0], r[1], r[2]) for r in rows}
        return [held[company] for company in companies if company in held]

    @operation
    async def surrender(self, owner: str, companies: Collection[str]) -> None:
        async with self.connection() as db:
            await db.execute(
                "DELETE FROM leases WHERE owner = $1 AND company = ANY($2::text[])", owner, list(companies)
            )

    @operation
    async def leave(self, member: str) -> None:
        async with self.connection() as db:
            await db.execute("DELETE FROM members WHERE id = $1", member)
            sql = "UPDATE deliveries SET claimed_by = NULL, claim_until = NULL WHERE claimed_by = $1"
            await db.execute(sql, member)  # none should be left: the dispatcher released or recorded them

    @operation
    async def leases(self, now: datetime) -> list[Lease]:
        async with self.connection() as db:
            rows = await db.fetch("SELECT company, owner, until FROM leases WHERE until > $1 ORDER BY company", now)
        return [Lease(r[0], r[1], r[2]) for r in rows]


async def _session(db: asyncpg.Connection) -> None:
    """Every pooled connection: times in UTC, whatever the server's default."""
    await db.execute("SET TIME ZONE 'UTC'")


def display(location: StateLocation) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(location.url)
    if parts.password is None:
        return location.url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _scrubber(location: StateLocation) -> Callable[[str], str]:
    """Driver messages may repeat the DSN: the password goes, in every spelling, before anything is shown."""
    from notifier.safety.redact import Redactor, url_secrets

    redactor = Redactor([*url_secrets(location.url), *([location.password] if location.password else [])])
    return lambda text: SCRUBBER(redactor.text(text))


def _alert_row(alert: Alert) -> tuple[object, ...]:
    event = json.dumps(SCRUBBER(event_to_dict(alert.event)), ensure_ascii=False) if alert.event else None
    return (alert.rule, alert.company, alert.job, alert.state, alert.active_since, alert.last_sent, alert.sends, event)


def _alert(r: Row) -> Alert:
    event = event_from_dict(json.loads(r[7])) if r[7] else None
    return Alert(rule=r[0], company=r[1], job=r[2], state=r[3], active_since=r[4], last_sent=r[5], sends=r[6],
                 event=event)  # fmt: skip
