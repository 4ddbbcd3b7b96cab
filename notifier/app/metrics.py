"""Prometheus metrics, on a registry of our own so several daemons (tests) never share counters.

Counters are incremented in one place, the observer every stage reports to (`app.observe`); gauges describe
current state and are set from it just before each scrape (`app.status`).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from notifier import __version__

POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        build = Gauge("notifier_build_info", "The running version (always 1)", ["version"], registry=r)
        build.labels(__version__).set(1)
        # ---- counters: incremented where it happens
        self.polls = Counter("notifier_polls", "Poll cycles by company and outcome", ["company", "outcome"], registry=r)
        self.poll_latency = Histogram(
            "notifier_poll_duration_seconds", "Wall time of one poll cycle", ["company"], buckets=POLL_BUCKETS,
            registry=r,
        )  # fmt: skip
        self.events = Counter("notifier_events", "Events taken from the queue, by kind", ["kind"], registry=r)
        self.notifications = Counter(
            "notifier_notifications", "Delivery attempts by rule, channel and outcome (delivered, retry, dead, "
            "disable)", ["rule", "channel", "outcome"], registry=r,
        )  # fmt: skip
        self.retries = Counter("notifier_delivery_retries", "Deliveries scheduled for retry", ["channel"], registry=r)
        self.dead_letters = Counter("notifier_dead_letters", "Deliveries dead-lettered", ["channel"], registry=r)
        self.silenced = Counter(
            "notifier_notifications_silenced", "Deliveries held back by a silence, by rule and channel",
            ["rule", "channel"], registry=r,
        )  # fmt: skip
        self.digests = Counter(
            "notifier_digests", "Digests of grouped notifications committed, by rule and channel", ["rule", "channel"],
            registry=r,
        )  # fmt: skip
        self.digested = Counter(
            "notifier_digested_notifications", "Notifications told in digests instead of one by one, by rule and "
            "channel", ["rule", "channel"], registry=r,
        )  # fmt: skip
        self.rule_errors = Counter(
            "notifier_rule_errors", "Rule expressions that failed at run time, by rule", ["rule"], registry=r
        )
        self.store_errors = Counter(
            "notifier_store_errors", "State store operations that failed (full disk, damaged file …), by operation",
            ["operation"], registry=r,
        )  # fmt: skip
        # ---- gauges: current state, refreshed before each scrape
        self.outbox_depth = Gauge("notifier_outbox_depth", "Deliveries waiting to be sent", registry=r)
        self.outbox_oldest = Gauge(
            "notifier_outbox_oldest_age_seconds", "Age of the oldest pending delivery", registry=r
        )
        self.group_members_waiting = Gauge(
            "notifier_group_members_waiting", "Notifications waiting in groups for their digest, by channel",
            ["channel"], registry=r,
        )  # fmt: skip
        self.group_overdue = Gauge(
            "notifier_group_digest_overdue_seconds",
            "How long past its due time the most overdue group's digest is, by channel (0: none is late)",
            ["channel"], registry=r,
        )  # fmt: skip
        self.queue_depth = Gauge("notifier_queue_depth", "Events waiting in the internal queue", registry=r)
        self.firing = Gauge("notifier_alerts_firing", "Alerts currently firing", registry=r)
        self.store_up = Gauge(
            "notifier_store_up", "1 while every state store operation succeeds, 0 while one keeps failing", registry=r
        )
        self.cluster_members = Gauge(
            "notifier_cluster_members", "Replicas alive on the state store (heartbeat within a lease)", registry=r
        )
        self.company_leases = Gauge(
            "notifier_company_leases", "Companies each replica holds a lease on (polls)", ["replica"], registry=r
        )
        self.company_up = Gauge(
            "notifier_company_up", "1 if the last poll of the company succeeded, 0 if it failed or none has yet",
            ["company"], registry=r,
        )  # fmt: skip
