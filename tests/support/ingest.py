"""What tests of the ingest stage share: a poll observer that keeps every outcome."""

from __future__ import annotations

from collections import defaultdict

from notifier.models import CompanyId


class PollOutcomes:
    """A `PollObserver` keeping each poll's outcome, in order and per company (by label)."""

    def __init__(self) -> None:
        self.outcomes: list[str] = []
        self.by_company: dict[str, list[str]] = defaultdict(list)

    def polled(self, company: CompanyId, outcome: str, seconds: float) -> None:
        self.outcomes.append(outcome)
        self.by_company[company.label].append(outcome)
