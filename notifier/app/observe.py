"""The one place outcomes become metrics and logs: every stage tells an observer what happened, and this is it.

Polls, events taken, rules that failed, what silences held back, commits, digests, delivery outcomes and store
failures
arrive here; counters are incremented and the outcome's log line written. A delivery is counted by the state
its row is left in: a dead letter is a row that became dead, not a verdict that said so.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import structlog

from notifier.app.metrics import Metrics
from notifier.dispatch.policy import Verdict
from notifier.engine.evaluate import RuleError
from notifier.models import CompanyId, Notification
from notifier.store.records import DEAD, DeliveryOutcome, DeliveryRow

log = structlog.get_logger(__name__)
RULE_ERROR_LOG_EVERY = timedelta(hours=1)


class Listener:
    """Hears every outcome and does nothing with it; an embedding (or a test) overrides what it wants to hear and
    passes it to `Daemon.open(listeners=…)`."""

    def polled(self, company: CompanyId, outcome: str, seconds: float) -> None:
        """A poll ended: "ok", the error type that failed it, or "skipped" (the rules are behind)."""

    def events_taken(self, kind: str, count: int) -> None:
        """`count` events of `kind` were taken from the queue for the rules (told once per batch and kind)."""

    def rule_failed(self, error: RuleError, at: datetime) -> None:
        """A rule's expression failed for one event."""

    def silenced(self, notification: Notification, channel: str, silence: str) -> None:
        """A stored delivery is held back by a silence."""

    def committed(self, new: int, duplicates: int) -> None:
        """A batch was committed: `new` notifications, `duplicates` decided before and left out."""

    def digested(self, rule: str, channel: str, alerts: int) -> None:
        """A group's digest standing for `alerts` notifications was committed for delivery on `channel`."""

    def delivered(self, row: DeliveryRow, verdict: Verdict, outcome: DeliveryOutcome, already_disabled: bool) -> None:
        """A delivery attempt (or the decision not to make one) was recorded."""

    def store_failed(self, operation: str) -> None:
        """A state store operation failed."""


class Observer(Listener):
    """What every stage reports to: metrics and logs, then any listeners."""

    def __init__(self, metrics: Metrics, listeners: Sequence[Listener] = ()) -> None:
        self.metrics = metrics
        self.listeners = tuple(listeners)
        self._rule_errors_logged: dict[tuple[str, str], datetime] = {}

    # ---------------------------------------------------------------------------------------------- ingest

    def polled(self, company: CompanyId, outcome: str, seconds: float) -> None:
        self.metrics.polls.labels(company.label, outcome).inc()
        if outcome != "skipped":
            self.metrics.poll_latency.labels(company.label).observe(seconds)
        for listener in self.listeners:
            listener.polled(company, outcome, seconds)

    # --------------------------------------------------------------------------------------------- compose

    def events_taken(self, kind: str, count: int) -> None:
        self.metrics.events.labels(kind).inc(count)
        for listener in self.listeners:
            listener.events_taken(kind, count)

    def rule_failed(self, error: RuleError, at: datetime) -> None:
        """Counted every time; logged as an error the first time per rule and kind of failure an hour, as debug
        after that: a rule failing on every job.active of every job would otherwise flood the log."""
        self.metrics.rule_errors.labels(error.rule).inc()
        kind = (error.rule, error.message.split(":", 1)[0])
        last = self._rule_errors_logged.get(kind)
        fresh = last is None or at - last >= RULE_ERROR_LOG_EVERY
        if fresh:
            self._rule_errors_logged[kind] = at
        emit = log.error if fresh else log.debug
        emit("rule failed", rule=error.rule, company=error.company, job=error.job, error=error.message)
        for listener in self.listeners:
            listener.rule_failed(error, at)

    def silenced(self, notification: Notification, channel: str, silence: str) -> None:
        self.metrics.silenced.labels(notification.rule, channel).inc()
        log.info("notification silenced", rule=notification.rule, channel=channel, job=notification.job_handle,
                 silence=silence)  # fmt: skip
        for listener in self.listeners:
            listener.silenced(notification, channel, silence)

    def committed(self, new: int, duplicates: int) -> None:
        for listener in self.listeners:
            listener.committed(new, duplicates)

    def digested(self, rule: str, channel: str, alerts: int) -> None:
        self.metrics.digests.labels(rule, channel).inc()
        self.metrics.digested.labels(rule, channel).inc(alerts)
        log.info("digest committed", rule=rule, channel=channel, alerts=alerts)
        for listener in self.listeners:
            listener.digested(rule, channel, alerts)

    # -------------------------------------------------------------------------------------------- dispatch

    def delivered(self, row: DeliveryRow, verdict: Verdict, outcome: DeliveryOutcome, already_disabled: bool) -> None:
        m = self.metrics
        m.notifications.labels(row.notification.rule, row.channel, verdict.action).inc()
        if verdict.action == "retry":
            m.retries.labels(row.channel).inc()
        if outcome.state == DEAD:
            m.dead_letters.labels(row.channel).inc()
        _log_delivery(row, verdict, outcome.attempts, already_disabled)
        for listener in self.listeners:
            listener.delivered(row, verdict, outcome, already_disabled)

    # ----------------------------------------------------------------------------------------------- store

    def store_failed(self, operation: str) -> None:
        self.metrics.store_errors.labels(operation).inc()
        for listener in self.listeners:
            listener.store_failed(operation)


def _log_delivery(row: DeliveryRow, verdict: Verdict, attempts: int, already_disabled: bool) -> None:
    bound = log.bind(channel=row.channel, rule=row.notification.rule, key=row.notification.key, attempt=attempts)
    if verdict.action == "delivered":
        bound.info("delivered")
    elif verdict.action == "retry":
        bound.warning("delivery failed, will retry", reason=verdict.reason, retry_in=round(verdict.delay or 0.0, 1))
    elif verdict.action == "disable" and not already_disabled:
        bound.error("channel disabled; its deliveries wait for `notifier outbox retry`", reason=verdict.reason)
    elif verdict.action == "disable":
        bound.warning("channel already disabled; delivery waits", reason=verdict.reason)
    else:
        bound.error("delivery dead-lettered", reason=verdict.reason)
