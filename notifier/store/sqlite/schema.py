"""The tables of the SQLite state file, and how a file written by an older version is brought up to date."""

from __future__ import annotations

import aiosqlite

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
"""
# Columns added after the first release, with how to fill them in an existing file.
MIGRATIONS = {
    "requeued_at": ("ALTER TABLE deliveries ADD COLUMN requeued_at REAL", None),
    "silenced_by": (
        "ALTER TABLE deliveries ADD COLUMN silenced_by TEXT",
        "UPDATE deliveries SET silenced_by = substr(last_error, 13) WHERE state = 'silenced' "
        "AND last_error LIKE 'silenced by %'",
    ),
}


async def prepare(db: aiosqlite.Connection) -> None:
    """Settings every connection needs, then the tables (created or upgraded), committed."""
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=FULL")  # a committed notification must survive power loss
    await db.execute("PRAGMA busy_timeout=5000")
    await db.executescript(SCHEMA)
    await _migrate(db)
    await db.commit()


async def _migrate(db: aiosqlite.Connection) -> None:
    async with db.execute("PRAGMA table_info(deliveries)") as cur:
        columns = {row[1] for row in await cur.fetchall()}
    for column, (alter, backfill) in MIGRATIONS.items():
        if column not in columns:
            await db.execute(alter)
            if backfill is not None:
                await db.execute(backfill)
