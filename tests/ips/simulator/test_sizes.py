"""totalSize is typed as a string in the reference: odd renderings of it must not cost the company's snapshot."""

from __future__ import annotations

import pytest

from notifier.ips.parse import parse_active_jobs
from notifier.ips.simulator.answers import render_active_jobs
from notifier.models import ActiveJob

MARK = 987654321


@pytest.mark.parametrize(
    ("written", "read"),
    [("1234", 1234), (" 42 ", 42), ("1.5E9", 1_500_000_000), ("12 MB", None), ("NaN", None), ("-3.5", None)],
)
def test_total_size_is_read_leniently(written: str, read: int | None) -> None:
    """A size that is not a plain integer is read as a number where it is one, else left empty; the other
    job in the same response is unaffected."""
    jobs = [ActiveJob(company_handle="47", job_handle="47||a", total_size=MARK), ActiveJob(job_handle="47||b")]
    body = render_active_jobs(jobs, "2014-04-03").replace(str(MARK).encode(), written.encode())
    odd, other = parse_active_jobs(body)
    assert odd.total_size == read
    assert other.job_handle == "47||b"
