"""Prometheus metrics, on a registry of our own so several daemons (tests) never share counters."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter("notifier_polls", "Poll cycles by company and outcome", ["company", "outcome"], registry=r)
        self.poll_latency = Histogram(
            "notifier_poll_duration_seconds",
            "Wall time of one poll cycle",
            ["company"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        self.events = Counter("notifier_events", "Events taken from the queue, by kind", ["kind"], registry=r)
        self.notifications = Counter(
            "notifier_notifications", "Delivery attempts by rule, channel and outcome", ["rule", "channel", "outcome"],
            registry=r,
        )  # fmt: skip
        self.retries = Counter("notifier_delivery_retries", "Deliveries scheduled for retry", ["channel"], registry=r)
        self.dead_letters = Counter("notifier_dead_letters", "Deliveries dead-lettered", ["channel"], registry=r)
        self.silenced = Counter("notifier_notifications_silenced", "Deliveries held back by a silence", registry=r)
        self.outbox_depth = Gauge("notifier_outbox_depth", "Deliveries waiting to be sent", registry=r)
        self.outbox_oldest = Gauge(
            "notifier_outbox_oldest_age_seconds", "Age of the oldest pending delivery", registry=r
        )
        self.queue_depth = Gauge("notifier_queue_depth", "Events waiting in the internal queue", registry=r)
        self.firing = Gauge("notifier_alerts_firing", "Alerts currently firing", registry=r)
        self.company_up = Gauge(
            "notifier_company_up", "1 if the last poll of the company succeeded", ["company"], registry=r
        )
