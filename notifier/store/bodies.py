"""`Bodies`: stored notification bodies decoded once, those this process committed never decoded at all."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from notifier.models import Notification
from notifier.models.codec import decode_notification

REMEMBERED = 1024  # notifications kept decoded after their commit (a second or so of a busy outbox)


class Bodies:
    """Stored notification bodies → notifications, decoding each once: those committed by this process are
    remembered as they were committed (the last `capacity` of them), so the dispatcher's first reading of a
    fresh delivery costs no decoding. `decode_notification` of the stored text is the reference."""

    def __init__(self, capacity: int = REMEMBERED) -> None:
        self.capacity = capacity
        self._recent: dict[str, Notification] = {}

    def remember(self, notifications: Iterable[Notification]) -> None:
        """Call once they are committed (never before: a rolled-back notification must not be found)."""
        recent = self._recent
        for notification in notifications:
            recent[notification.key] = notification
        for key in list(itertools.islice(recent, max(0, len(recent) - self.capacity))):
            del recent[key]  # the oldest first: dicts keep insertion order

    def read(self, key: str, body: str) -> Notification:
        found = self._recent.get(key)
        return found if found is not None else decode_notification(body)
