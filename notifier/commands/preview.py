"""What `test-rule` shows of grouping: the digests grouped targets would send, at the time they would be due,
worked out in memory from the events' own times (the daemon keeps the same groups in its state store)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from notifier.compose.digest import flush
from notifier.compose.grouping import due_after_joining, grouping
from notifier.engine.evaluate import Decision
from notifier.engine.rules import RuleSet
from notifier.i18n.catalogs import Catalogs
from notifier.models import Notification
from notifier.store.records import DueGroup, Grouping


@dataclass
class _Group:
    channel: str
    spec: Grouping
    members: list[Notification] = field(default_factory=list)
    next_at: float | None = None
    last_at: float | None = None
    sent: int = 0
    thread: str | None = None
    open: tuple[str, ...] = ()


class GroupPreview:
    """Collects grouped notifications and hands each digest, when due, to `show`."""

    def __init__(self, rules: RuleSet, catalogs: Catalogs, locale: str | None, show: Callable[[Notification], None]):
        self.rules, self.catalogs, self.locale, self.show = rules, catalogs, locale, show
        self._groups: dict[str, _Group] = {}

    def grouped_channels(self, decision: Decision) -> frozenset[str]:
        return frozenset(t.channel for t in decision.rule.notify if t.group is not None)

    def join(self, decision: Decision, notification: Notification) -> None:
        """`notification` joins its group on every grouped target of its rule."""
        now = decision.event.at.timestamp()
        for target in decision.rule.notify:
            if target.group is None:
                continue
            spec = grouping(decision, target.channel, target.group)
            group = self._groups.setdefault(spec.key, _Group(target.channel, spec))
            group.next_at = due_after_joining(now, spec, group.next_at, group.last_at)
            group.members.append(notification)

    def until(self, at: datetime | None) -> None:
        """Show every digest due up to `at` (None: all that are still waiting), earliest first."""
        while True:
            waiting = [g for g in self._groups.values() if g.next_at is not None]
            due = min(waiting, key=lambda g: g.next_at or 0.0, default=None)
            if due is None or due.next_at is None or (at is not None and due.next_at > at.timestamp()):
                return
            self._flush(due, due.next_at)

    def _flush(self, group: _Group, now: float) -> None:
        spec = group.spec
        due = DueGroup(spec.key, spec.rule, group.channel, spec.labels, (), tuple(group.members), group.sent,
                       group.thread, group.open)  # fmt: skip
        made = flush(due, self.rules.by_name(spec.rule), locale=self.locale, catalogs=self.catalogs,
                     now=datetime.fromtimestamp(now, UTC))  # fmt: skip
        group.members, group.next_at, group.last_at = [], None, now
        group.sent, group.thread, group.open = group.sent + 1, made.thread, made.open
        if made.digest is not None:  # a flush without a digest is one silences emptied: preview knows none
            self.show(made.digest.notification)
