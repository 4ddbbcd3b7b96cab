"""The one place outcomes become metrics: deliveries are counted by the state their row is left in."""

from __future__ import annotations

from notifier.app.metrics import Metrics
from notifier.app.observe import Observer
from notifier.dispatch.policy import Verdict
from notifier.store.records import DEAD, PENDING, DeliveryOutcome, DeliveryRow
from tests.support.store import NOW, notification

GONE = Verdict("disable", None, "HTTP 410: the endpoint is gone")


def row(row_id: int) -> DeliveryRow:
    return DeliveryRow(row_id, notification(f"msg_{row_id}"), "hook", (), PENDING, 0, NOW.timestamp(), None)


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_a_row_left_pending_behind_a_disabled_channel_is_no_dead_letter() -> None:
    """The 410 that disables a channel makes its row a dead letter; a second 410 answered while the channel was
    already disabled leaves its row pending, waiting with the others: that one is not counted as dead."""
    metrics = Metrics()
    observer = Observer(metrics)
    first, second = row(1), row(2)
    observer.delivered(first, GONE, DeliveryOutcome(1, "hook", DEAD, 1, 0.0, GONE.reason, GONE.reason), False)
    observer.delivered(second, GONE, DeliveryOutcome(2, "hook", PENDING, 1, 0.0, GONE.reason), True)
    assert sample(metrics, "notifier_dead_letters_total", channel="hook") == 1
    labels = {"rule": "failed-publish", "channel": "hook", "outcome": "disable"}
    assert sample(metrics, "notifier_notifications_total", **labels) == 2


def test_a_dead_verdict_counts_one_dead_letter_and_a_retry_one_retry() -> None:
    """Every other outcome counts as it did: a dead row is a dead letter, a retry a retry."""
    metrics = Metrics()
    observer = Observer(metrics)
    dead = Verdict("dead", None, "HTTP 400")
    retry = Verdict("retry", 2.0, "HTTP 503")
    observer.delivered(row(1), dead, DeliveryOutcome(1, "hook", DEAD, 1, 0.0, "HTTP 400"), False)
    observer.delivered(row(2), retry, DeliveryOutcome(2, "hook", PENDING, 1, 2.0, "HTTP 503"), False)
    assert sample(metrics, "notifier_dead_letters_total", channel="hook") == 1
    assert sample(metrics, "notifier_delivery_retries_total", channel="hook") == 1
