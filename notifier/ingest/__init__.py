"""The ingest stage: per-company pollers on the IPS client, their pure job and schedule trackers, the event queue."""
