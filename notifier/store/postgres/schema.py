"""The tables of the PostgreSQL state, created or brought up to date at start under a version table.

Replicas starting together take an advisory lock first, so exactly one of them migrates. A database written by
a newer notifier (a version above ours) is refused: an older replica writing it could undo what the newer one
relies on.
"""

from __future__ import annotations

from notifier.store.errors import StoreError
from notifier.store.postgres.connection import Db

VERSION_TABLE = "notifier_schema"
LOCK = 0x6E6F7469  # the advisory lock every starting replica takes while it creates or migrates the tables
# Each step brings the schema from its index to the next version; a database at version N runs steps N onwards.
STEPS: tuple[str, ...] = (
    """
    CREATE TABLE alerts (
        rule TEXT NOT NULL, company TEXT NOT NULL, job TEXT NOT NULL,
        state TEXT NOT NULL, active_since TIMESTAMPTZ NOT NULL, last_sent TIMESTAMPTZ, sends INTEGER NOT NULL,
        event TEXT, PRIMARY KEY (rule, company, job));
    CREATE TABLE notifications (
        key TEXT PRIMARY KEY, rule TEXT NOT NULL, company TEXT NOT NULL, job TEXT NOT NULL,
        status TEXT NOT NULL, severity TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL,
        silenced_by TEXT, body TEXT NOT NULL);
    CREATE TABLE deliveries (
        id BIGSERIAL PRIMARY KEY, key TEXT NOT NULL REFERENCES notifications(key),
        channel TEXT NOT NULL, recipients TEXT NOT NULL, state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, next_at DOUBLE PRECISION NOT NULL, last_error TEXT,
        updated_at TIMESTAMPTZ NOT NULL, requeued_at DOUBLE PRECISION, silenced_by TEXT,
        claimed_by TEXT, claim_until DOUBLE PRECISION,
        UNIQUE (key, channel));
    CREATE INDEX deliveries_due ON deliveries (state, next_at);
    CREATE INDEX deliveries_lane ON deliveries (state, channel, next_at);
    CREATE INDEX deliveries_silenced ON deliveries (silenced_by) WHERE silenced_by IS NOT NULL;
    CREATE INDEX notifications_alert ON notifications (rule, company, job);
    CREATE TABLE silences (
        id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at TIMESTAMPTZ NOT NULL, ends_at TIMESTAMPTZ NOT NULL,
        comment TEXT NOT NULL, created_by TEXT NOT NULL);
    CREATE TABLE disabled_channels (channel TEXT PRIMARY KEY, reason TEXT NOT NULL, at TIMESTAMPTZ NOT NULL);
    CREATE TABLE poll_marks (
        company TEXT PRIMARY KEY, polled_at TIMESTAMPTZ NOT NULL, floor TIMESTAMPTZ NOT NULL, locales TEXT NOT NULL);
    CREATE TABLE schedule_marks (
        company TEXT NOT NULL, schedule TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (company, schedule));
    CREATE TABLE members (
        id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, heartbeat TIMESTAMPTZ NOT NULL);
    CREATE TABLE leases (company TEXT PRIMARY KEY, owner TEXT NOT NULL, until TIMESTAMPTZ NOT NULL);
    """,
    # 2: groups collecting notifications into digests, and conversations (what a channel kept of a message).
    """
    ALTER TABLE notifications ADD COLUMN thread TEXT;
    ALTER TABLE deliveries ADD COLUMN conversation TEXT;
    CREATE INDEX notifications_thread ON notifications (thread) WHERE thread IS NOT NULL;
    CREATE TABLE groups (
        key TEXT PRIMARY KEY, rule TEXT NOT NULL, channel TEXT NOT NULL, labels TEXT NOT NULL,
        wait_s DOUBLE PRECISION NOT NULL, interval_s DOUBLE PRECISION NOT NULL, next_at DOUBLE PRECISION,
        last_at DOUBLE PRECISION, sent INTEGER NOT NULL DEFAULT 0, thread TEXT, open TEXT NOT NULL DEFAULT '[]');
    CREATE INDEX groups_due ON groups (next_at);
    CREATE TABLE group_members (
        grp TEXT NOT NULL REFERENCES groups(key), key TEXT NOT NULL REFERENCES notifications(key),
        recipients TEXT NOT NULL, added_at DOUBLE PRECISION NOT NULL, seq BIGSERIAL, PRIMARY KEY (grp, key));
    CREATE INDEX group_members_key ON group_members (key);
    """,
    # 3: the handle each company configured by name resolved to.
    "CREATE TABLE company_handles (name TEXT PRIMARY KEY, handle TEXT NOT NULL);",
)
VERSION = len(STEPS)


class NewerSchema(StoreError):
    """The database was written by a newer notifier than this one."""


async def prepare(db: Db) -> int:
    """Create or migrate the tables to `VERSION` (one replica at a time); returns the version found before."""
    async with db.transaction():
        await db.execute("SELECT pg_advisory_xact_lock($1)", LOCK)
        await db.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL)")
        found = await db.fetchval(f"SELECT max(version) FROM {VERSION_TABLE}")
        version = int(found) if found is not None else 0
        if version > VERSION:
            raise NewerSchema(
                f"the state database has schema version {version}, written by a newer notifier "
                f"(this one knows up to {VERSION}): upgrade this replica"
            )
        for step in STEPS[version:]:
            await db.execute(step)
        if version < VERSION:
            await db.execute(f"DELETE FROM {VERSION_TABLE}")
            await db.execute(f"INSERT INTO {VERSION_TABLE} VALUES ($1)", VERSION)
    return version
