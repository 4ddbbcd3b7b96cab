"""The one wiring point: `Daemon.open` builds every stage from the config and owns their lifecycle."""
