"""The indexed alert book answers exactly as the scanning reference does, whatever is put and removed."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from notifier.engine.book import Alert, AlertBook, ScannedBook

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULES = st.sampled_from(["stalled", "failed", "unreachable"])
COMPANIES = st.sampled_from(["47", "118", "name:Planetary"])
JOBS = st.sampled_from(["", "47||a", "47||b", "118||c"])
OPERATIONS = st.lists(st.tuples(st.sampled_from(["put", "remove", "look"]), RULES, COMPANIES, JOBS), max_size=60)


@given(OPERATIONS)
def test_indexed_book_answers_as_the_scanning_reference(operations: list[tuple[str, str, str, str]]) -> None:
    """Puts (new and replacing), removals and lookups by job give the same alerts in the same order."""
    indexed, reference = AlertBook(), ScannedBook()
    for step, (operation, rule, company, job) in enumerate(operations):
        if operation == "put":
            alert = Alert(rule, company, job, "firing", AT, sends=step)
            indexed.put(alert)
            reference.put(alert)
        elif operation == "remove" and (rule, company, job) in reference:
            indexed.remove((rule, company, job))
            reference.remove((rule, company, job))
        assert indexed.of_job(company, job) == reference.of_job(company, job)
        assert list(indexed.items()) == list(reference.items())


def test_a_replaced_alert_keeps_its_place_and_a_removed_job_leaves_no_trace() -> None:
    """Replacing an alert keeps its position for the job; removing a job's last alert empties its entry."""
    book = AlertBook()
    first, second = Alert("a", "47", "47||x", "firing", AT), Alert("b", "47", "47||x", "firing", AT)
    book.put(first)
    book.put(second)
    replaced = Alert("a", "47", "47||x", "sent", AT, sends=2)
    book.put(replaced)
    assert book.of_job("47", "47||x") == [replaced, second]
    book.remove(first.id)
    book.remove(second.id)
    assert book.of_job("47", "47||x") == []
    assert len(book) == 0
    assert book == {}
