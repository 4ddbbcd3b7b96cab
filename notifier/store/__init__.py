"""Durable state: alert book, outbox of notifications and their deliveries, silences (SQLite by default)."""
