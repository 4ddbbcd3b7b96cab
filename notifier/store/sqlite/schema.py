"""The tables of the SQLite state file, and how a file written by an older version is brought up to date."""

from __future__ import annotations

import aiosqlite

from notifier.store.sqlite.connection import SYNCHRONOUS

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    rule TEXT NOT NULL, company TEXT NOT NULL, job TEXT NOT NULL,
    state TEXT NOT NULL, active_since TEXT NOT NULL, last_sent TEXT, sends INTEGER NOT NULL,
    event TEXT, PRIMARY KEY (rule, company, job));
CREATE TABLE IF NOT EXISTS notifications (
    key TEXT PRIMARY KEY, rule TEXT NOT NULL, company TEXT NOT NULL, job TEXT NOT NULL,
    status TEXT NOT NULL, severity TEXT NOT NULL, created_at TEXT NOT NULL,
    silenced_by TEXT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL REFERENCES notifications(key),
    channel TEXT NOT NULL, recipients TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL, last_error TEXT, updated_at TEXT NOT NULL,
    UNIQUE (key, channel));
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_at);
CREATE INDEX IF NOT EXISTS deliveries_lane ON deliveries (state, channel, next_at);
CREATE INDEX IF NOT EXISTS notifications_alert ON notifications (rule, company, job);
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at TEXT NOT NULL, ends_at TEXT NOT NULL,
    comment TEXT NOT NULL, created_by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS disabled_channels (
    channel TEXT PRIMARY KEY, reason TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS poll_marks (
    company TEXT PRIMARY KEY, polled_at TEXT NOT NULL, floor TEXT NOT NULL, locales TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS schedule_marks (
    company TEXT NOT NULL, schedule TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (company, schedule));
CREATE TABLE IF NOT EXISTS groups (
    key TEXT PRIMARY KEY, rule TEXT NOT NULL, channel TEXT NOT NULL, labels TEXT NOT NULL,
    wait REAL NOT NULL, interval REAL NOT NULL, next_at REAL, last_at REAL, sent INTEGER NOT NULL DEFAULT 0,
    thread TEXT, open TEXT NOT NULL DEFAULT '[]');
CREATE INDEX IF NOT EXISTS groups_due ON groups (next_at);
CREATE TABLE IF NOT EXISTS group_members (
    grp TEXT NOT NULL REFERENCES groups(key), key TEXT NOT NULL REFERENCES notifications(key),
    recipients TEXT NOT NULL, added_at REAL NOT NULL, PRIMARY KEY (grp, key));
"""
# Columns added after the first release, by table, with how to fill them in an existing file.
MIGRATIONS = {
    ("deliveries", "requeued_at"): ("ALTER TABLE deliveries ADD COLUMN requeued_at REAL", None),
    ("deliveries", "silenced_by"): (
        "ALTER TABLE deliveries ADD COLUMN silenced_by TEXT",
        "UPDATE deliveries SET silenced_by = substr(last_error, 13) WHERE state = 'silenced' "
        "AND last_error LIKE 'silenced by %'",
    ),
    ("deliveries", "conversation"): ("ALTER TABLE deliveries ADD COLUMN conversation TEXT", None),
    ("notifications", "thread"): ("ALTER TABLE notifications ADD COLUMN thread TEXT", None),
}


async def prepare(db: aiosqlite.Connection) -> None:
    """Settings every connection needs, then the tables (created or upgraded), committed."""
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
    await db.execute("PRAGMA busy_timeout=5000")
    await db.executescript(SCHEMA)
    await _migrate(db)
    await db.commit()


async def _migrate(db: aiosqlite.Connection) -> None:
    columns: set[tuple[str, str]] = set()
    for table in sorted({table for table, _ in MIGRATIONS}):
        async with db.execute(f"PRAGMA table_info({table})") as cur:
            columns.update((table, row[1]) for row in await cur.fetchall())
    for column, (alter, backfill) in MIGRATIONS.items():
        if column not in columns:
            await db.execute(alter)
            if backfill is not None:
                await db.execute(backfill)
