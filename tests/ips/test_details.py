"""A job's notable log lines are picked out of getJobLogDetails exactly as reading it all and filtering does."""

from __future__ import annotations

import pytest
from lxml import etree

from notifier.ips import details
from notifier.ips.errors import IpsParseError
from notifier.ips.simulator import answers as render
from notifier.ips.simulator.server import make_world
from notifier.models import JobLog, JobLogDetail
from tests.support.sim import START, Sim

VERSION = "2014-04-03"
JA_DETAIL = "ファイル"


def test_the_fleets_failed_and_warned_jobs_give_the_references_lines_in_every_locale() -> None:
    """Every failed or warned job of half an hour of the fleet, in three locales and at three limits: the same
    lines as the full reading, and lines there are."""
    world = make_world("fleet", companies=1, jobs=120, seed=3, speed=0.0, start=START)
    world.advance(1800)
    company = next(iter(world.companies))
    ended = [log for log in world.job_logs(company) if log.failed or log.has_warnings]
    assert len(ended) > 20
    found = 0
    for locale in ("en-US", "ja-JP", "de-DE"):
        for log in ended:
            body = render.render_job_log_details(world.job_log_details(company, locale=locale,
                                                                       job_handle=log.job_handle), VERSION)  # fmt: skip
            for limit in (1, 20, 1000):
                lines = details.notable_details(body, limit=limit)
                assert lines == details.notable_details_reference(body, limit=limit)
                found += len(lines)
    assert found > 0


def test_a_bad_value_in_a_line_not_picked_does_not_lose_the_errors() -> None:
    """A success line whose date cannot be read fails the full reading; the error lines are still read."""
    lines = (
        JobLogDetail("ok", "UploadSuccess", date_created=START),
        JobLogDetail("disk full", "UploadError", date_created=START),
        JobLogDetail("overwritten", "UploadWarning", date_created=START),
    )
    body = render.render_job_log_details([JobLog(job_handle="47|1", details=lines)], VERSION)
    root = etree.fromstring(body)
    first_date = next(el for el in root.iter() if isinstance(el.tag, str) and el.tag.endswith("dateCreated"))
    first_date.text = "2026-99-01"
    broken = etree.tostring(root)
    with pytest.raises(IpsParseError):
        details.notable_details_reference(broken, limit=20)
    assert details.notable_details(broken, limit=20) == list(lines[1:])


async def test_the_client_asks_in_the_jobs_locale_and_keeps_the_first_notable_lines(sim: Sim) -> None:
    """Over HTTP: the notable lines, in Japanese when asked in ja-JP, at most `limit` of them, in log order."""
    sim.world.advance(57)
    client = sim.client()
    (log,) = await client.get_job_logs("203")
    handle = log.job_handle or ""
    (whole,) = await client.get_job_log_details("203", handle, locale="ja-JP")
    notable = [line for line in whole.details if details.is_notable(line)]
    assert len(notable) > 1
    assert await client.get_notable_details("203", handle, locale="ja-JP", limit=1000) == notable
    assert await client.get_notable_details("203", handle, locale="ja-JP", limit=1) == notable[:1]
    assert any(JA_DETAIL in (line.log_message or "") for line in notable)
