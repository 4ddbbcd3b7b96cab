"""What every long-running stage shares: the injected clock, the one backoff, and supervised tasks."""
