"""The embedded SQLite state store: one file, one daemon, operator commands beside it."""
