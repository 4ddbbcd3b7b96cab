"""The compose stage: events → rule decisions → rendered, silenced notifications committed to the outbox."""
