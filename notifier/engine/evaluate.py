"""The rule engine: rules × event → notifications to create. Pure: no I/O, time comes from the event.

Three kinds of rule (see `Rule.kind`):
- event rules fire once per matching event; `repeat` suppresses further firings per rule and job in a window;
- state rules (`on: job.active`) go pending → firing (after `for`) → resolved when the condition stops holding
  or the job leaves the active list; `repeat` re-notifies while firing;
- episode rules fire when an episode opens and resolve when it ends: a company becomes unreachable and recovers
  (`company.unreachable` … `company.recovered`), a schedule misses a run or its trigger breaks and it recovers
  (`schedule.missed`/`schedule.failed` … `schedule.recovered`).

Every notification gets a stable key derived from (rule, company, subject, status, episode), the subject being
the job, the schedule (`schedule:<handle>`) or nothing (the company itself). Alert state is
exported as `Alert` records for the store, so a restarted engine continues where it stopped: an alert that
was firing stays firing and is not announced again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from notifier.engine.book import Alert, AlertBook, AlertId
from notifier.engine.conditions import Condition
from notifier.engine.context import Views
from notifier.engine.facts import EventFacts
from notifier.engine.rules import EPISODE_CLOSERS, Rule, RuleSet
from notifier.models import Event

JOB_ENDINGS = frozenset({"job.departed", "job.completed", "job.failed"})
EPISODE_ENDINGS = frozenset(EPISODE_CLOSERS.values())
SCHEDULE_SUBJECT = "schedule:"  # alerts about a schedule are kept under this prefix and its handle


@dataclass(frozen=True, slots=True)
class Decision:
    """A notification to create: `event` is what it talks about, `key` makes it idempotent."""

    rule: Rule
    status: Literal["firing", "resolved"]
    event: Event
    key: str
    cause: str = ""  # for a resolution: the kind of event that ended it (job.active, job.departed …)
    alert_key: str = ""  # the same for an alert's firing, its repeats and its resolution (see `alert_key`)
    thread: str = ""  # for a repeat or a resolution: the key of the alert's first firing, which it answers


@dataclass(frozen=True, slots=True)
class RuleError:
    """A rule that could not be evaluated for one event; logged, never fatal."""

    rule: str
    company: str
    job: str
    message: str


@dataclass(slots=True)
class Evaluation:
    decisions: list[Decision] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)
    suppressed: int = 0  # firings held back by `repeat`


def notification_key(*parts: str) -> str:
    """Stable, opaque and header-safe: the same parts always give the same key."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"msg_{digest}"


def alert_key(rule: str, company: str, job: str, episode: str) -> str:
    """One alert episode's identity, shared by its firing, repeat and resolved notifications.

    The episode (when the condition started holding, or which job ending it was) is part of it: a late
    resolution of one episode, still being retried, must never close the incident of the next.
    """
    digest = hashlib.sha256("\x1f".join((rule, company, job, episode)).encode()).hexdigest()[:32]
    return f"alert_{digest}"


def event_fingerprint(event: Event) -> str:
    """What makes two events of one kind and job the same happening (so a replay is not news).

    A job's ending is the same whenever it is seen: its log's end date says which. Progress and state changes
    are only ever seen live, once each, and a job may pass through the same state or progress twice
    (Running → WaitingClient → Running): their moment is what tells them apart.
    """
    if event.kind in ("job.progressed", "job.state_changed"):
        return f"at={event.at.isoformat()}"
    if event.log is not None:
        end = event.log.end_date
        return f"end={end.isoformat() if end else ''}"
    if event.kind.startswith(("company.", "schedule.")):
        return f"at={event.at.isoformat()}"
    return ""


def subject(event: Event) -> str:
    """What an alert is about besides its rule and company: the job, the schedule, or nothing (the company)."""
    if event.schedule is not None and event.kind.startswith("schedule."):
        return SCHEDULE_SUBJECT + event.schedule.key
    return event.job.job_handle or "" if event.job is not None else ""


class Engine:
    """Evaluates rules over events and keeps the alert book."""

    def __init__(self, rules: RuleSet, alerts: Iterable[Alert] = ()) -> None:
        self.rules = rules
        self._by_name = {r.name: r for r in rules.rules}
        self.views = Views()
        self.alerts = AlertBook()
        for alert in alerts:
            self.alerts.put(alert)
        self._changed: set[AlertId] = set()
        # Per event kind: its rules with their conditions and kinds, worked out once per rule set.
        self._plans: dict[str, tuple[tuple[Rule, Condition | None, str], ...]] = {}
        self._conditions: dict[str, Condition] = {}  # by rule name, for the rule set planned for
        self._planned_for: RuleSet | None = None

    def replace_rules(self, rules: RuleSet) -> None:
        """Swap rules on reload; alerts of rules that no longer exist are forgotten."""
        self.rules = rules
        self._by_name = {r.name: r for r in rules.rules}
        self.forget(lambda alert: alert.rule in rules.names)

    def evaluate(self, event: Event) -> Evaluation:
        result = Evaluation()
        plan = self._plan(event.kind)
        facts = EventFacts(event, self.views) if plan else None
        for rule, where, kind in plan:
            matched = self._matches(rule, where, event, facts, result)
            if matched is None:
                continue
            if kind == "state":
                self._state(rule, event, matched, result)
            elif matched:
                self._fire(rule, event, result)
        if event.kind in JOB_ENDINGS:
            self._job_left(event, result)
        if event.kind in EPISODE_ENDINGS:
            self._episode_over(event, result)
        return result

    def forget(self, keep: Callable[[Alert], bool]) -> list[Alert]:
        """Drop, without notifying, the alerts `keep` refuses (their rule or company is gone, their window over)."""
        gone = [alert for alert in self.alerts.values() if not keep(alert)]
        for alert in gone:
            self.alerts.remove(alert.id)
            self._changed.add(alert.id)
        return gone

    def take_over(self, companies: Collection[str], alerts: Iterable[Alert] = ()) -> None:
        """The alerts of `companies` (by key) become exactly `alerts`, as another replica left them in the store
        (none: another replica keeps them now); nothing here is a change to store."""
        for alert in [a for a in self.alerts.values() if a.company in companies]:
            self.alerts.remove(alert.id)
            self._changed.discard(alert.id)
        for alert in alerts:
            self.alerts.put(alert)
            self._changed.discard(alert.id)

    def changes(self) -> tuple[list[Alert], list[AlertId]]:
        """Alerts to upsert and ids to delete since the last call, for the store."""
        upserts = [self.alerts[i] for i in self._changed if i in self.alerts]
        deletes = [i for i in self._changed if i not in self.alerts]
        self._changed.clear()
        return upserts, deletes

    # ------------------------------------------------------------------------------------------ matching

    def _plan(self, kind: str) -> tuple[tuple[Rule, Condition | None, str], ...]:
        if self._planned_for is not self.rules:
            self._plans, self._conditions, self._planned_for = {}, {}, self.rules
        plan = self._plans.get(kind)
        if plan is None:
            rules = self.rules.for_kind(kind)
            plan = self._plans[kind] = tuple((r, self._condition(r), r.kind) for r in rules)
        return plan

    def _condition(self, rule: Rule) -> Condition | None:
        """A rule's `where`, compiled once per rule set however many event kinds it listens to."""
        if rule.where is None:
            return None
        condition = self._conditions.get(rule.name)
        if condition is None:
            condition = self._conditions[rule.name] = Condition(rule.where, rule.where_source)
        return condition

    @staticmethod
    def _matches(
        rule: Rule, where: Condition | None, event: Event, facts: EventFacts | None, result: Evaluation
    ) -> bool | None:
        """True/False, or None when the expression failed: state is then left as it was."""
        if where is None or facts is None:
            return True
        try:
            return bool(where.evaluate(facts))
        except Exception as exc:  # a rule's runtime error must never stop other rules or events
            result.errors.append(
                RuleError(rule.name, event.company.key, subject(event), f"{type(exc).__name__}: {exc}")
            )
            return None

    # ---------------------------------------------------------------------------------- event / episode

    def _fire(self, rule: Rule, event: Event, result: Evaluation) -> None:
        alert_id = (rule.name, event.company.key, subject(event))
        alert = self.alerts.get(alert_id)
        if rule.kind == "episode":
            if alert is None:
                alert = self._put(Alert(*alert_id, state="firing", active_since=event.at, event=event))
                self._send(rule, alert, "firing", event, result, episode=_iso(event.at), since=_iso(event.at))
            return
        if alert and rule.repeat and alert.last_sent and event.at - alert.last_sent < _td(rule.repeat):
            result.suppressed += 1
            return
        alert = Alert(*alert_id, state="sent", active_since=event.at, event=event)
        if rule.repeat:  # without a repeat window the key alone dedupes; nothing to remember
            self._put(alert)
        happening = f"{event.kind}|{event_fingerprint(event)}"
        self._send(rule, alert, "firing", event, result, episode=happening, since=happening)

    def _episode_over(self, event: Event, result: Evaluation) -> None:
        # An episode ends once per outage or missed schedule, not once per job: a look at every alert is affordable.
        about = subject(event)
        for alert in list(self.alerts.values()):
            rule = self._rule(alert.rule)
            if rule and rule.closer == event.kind and alert.job == about and event.company.is_known_as(alert.company):
                self._resolve(rule, alert, event, result)

    # -------------------------------------------------------------------------------------------- state

    def _state(self, rule: Rule, event: Event, holds: bool, result: Evaluation) -> None:
        alert_id = (rule.name, event.company.key, subject(event))
        alert = self.alerts.get(alert_id)
        if not holds:
            if alert is not None:
                self._resolve(rule, alert, event, result)
            return
        if alert is None:
            alert = self._put(Alert(*alert_id, state="pending", active_since=event.at))
        alert.event = event
        episode = _iso(alert.active_since)
        if alert.state == "pending" and event.at - alert.active_since >= _td(rule.for_seconds):
            alert.state = "firing"
            self._send(rule, alert, "firing", event, result, episode=episode, since=episode)
        elif alert.state == "firing" and _due(rule.repeat, alert.last_sent, event.at):
            self._send(rule, alert, "firing", event, result, episode=f"{episode}#{alert.sends}", since=episode)

    def _job_left(self, event: Event, result: Evaluation) -> None:
        for alert in self.alerts.of_job(event.company.key, subject(event)):
            rule = self._rule(alert.rule)
            if rule and rule.kind == "state":
                self._resolve(rule, alert, event, result)

    def _resolve(self, rule: Rule, alert: Alert, event: Event, result: Evaluation) -> None:
        self.alerts.remove(alert.id)
        self._changed.add(alert.id)
        if alert.state == "firing" and rule.send_resolved:
            about = _resolved_event(alert.event or event, event)
            since = _iso(alert.active_since)
            key = notification_key(rule.name, alert.company, alert.job, "resolved", since)
            same = alert_key(rule.name, alert.company, alert.job, since)
            first = notification_key(rule.name, alert.company, alert.job, "firing", since)
            result.decisions.append(
                Decision(rule, "resolved", about, key, cause=event.kind, alert_key=same, thread=first)
            )

    # ------------------------------------------------------------------------------------------ helpers

    def _send(
        self,
        rule: Rule,
        alert: Alert,
        status: Literal["firing"],
        event: Event,
        result: Evaluation,
        *,
        episode: str,
        since: str,
    ) -> None:
        """Announce `alert`; `episode` tells this notification apart, `since` the alert episode it belongs to."""
        key = notification_key(rule.name, alert.company, alert.job, status, episode)
        alert.last_sent = event.at
        alert.sends += 1
        alert.event = event
        if alert.id in self.alerts:
            self._changed.add(alert.id)
        same = alert_key(rule.name, alert.company, alert.job, since)
        # A repeat (its episode is more than the alert's) answers the alert's first firing, whose episode is `since`.
        first = notification_key(rule.name, alert.company, alert.job, status, since) if episode != since else ""
        result.decisions.append(Decision(rule, status, event, key, alert_key=same, thread=first))

    def _put(self, alert: Alert) -> Alert:
        self.alerts.put(alert)
        self._changed.add(alert.id)
        return alert

    def _rule(self, name: str) -> Rule | None:
        return self._by_name.get(name)

    def prune(self, now: datetime) -> None:
        """Forget event-rule memories whose repeat window has passed; call now and then."""

        def still_needed(alert: Alert) -> bool:
            rule = self._rule(alert.rule)
            window = rule.repeat if rule and rule.kind == "event" else None
            expired = window is None or (alert.last_sent is not None and now - alert.last_sent >= _td(window))
            return alert.state != "sent" or not expired

        self.forget(still_needed)


def _resolved_event(last: Event, now: Event) -> Event:
    """A resolved notification describes the job (or schedule) as last seen firing, at the time it resolved,
    and why it did: the run that came, the trigger state it is in now."""
    return Event(
        kind=last.kind,
        at=now.at,
        company=now.company,
        job=last.job if now.job is None or now.kind == "job.departed" else now.job,
        log=now.log,
        stalled_seconds=now.stalled_seconds if now.kind == "job.active" else last.stalled_seconds,
        error=now.error,
        schedule=now.schedule or last.schedule,
        fire_time=last.fire_time,
        last_run=now.last_run or last.last_run,
        reason=now.reason,
    )


def _due(repeat: float | None, last_sent: datetime | None, now: datetime) -> bool:
    return repeat is not None and last_sent is not None and now - last_sent >= _td(repeat)


def _iso(at: datetime) -> str:
    return at.isoformat()


def _td(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)
