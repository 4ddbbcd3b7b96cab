"""What IPS says about jobs that ended: every finished-job log since a time (paged), and the first error and
warning lines of one job's log, in its own locale."""

from __future__ import annotations

from datetime import datetime

import structlog

from notifier.ingest.job_tracker import Ending, JobTracker
from notifier.ips.client import IpsClient
from notifier.ips.errors import IpsError
from notifier.models import JobLog, JobLogDetail

MAX_LOG_PAGES = 50  # a log scan reads at most this many pages per poll (50,000 logs at the default page size)
Log = structlog.typing.FilteringBoundLogger


async def job_logs(client: IpsClient, company: str, start: datetime, page_size: int, log: Log) -> list[JobLog]:
    """Every finished-job log of `company` from `start` on, page by page, oldest first.

    One page would silently drop the newest logs whenever more than a page's worth fall in the window (a long
    outage, a busy company, a server clock far ahead of ours); their jobs' endings would be lost. Pages are
    sorted by startDate and overlap at their boundary, so logs are de-duplicated by job handle.
    """
    found: dict[str, JobLog] = {}
    for _ in range(MAX_LOG_PAGES):
        page = await client.get_job_logs(company, start_date=start, num_rows=page_size)
        found.update((entry.job_handle, entry) for entry in page if entry.job_handle)
        last = page[-1].start_date if page else None
        if len(page) < page_size:
            return list(found.values())
        if last is None or last <= start:  # a whole page started in the same instant: cannot page past it
            break
        start = last
    log.warning("job log scan truncated; some job endings may be missed", logs=len(found))
    return list(found.values())


async def log_details(
    client: IpsClient, company: str, tracker: JobTracker, ending: Ending, locale: str | None, limit: int, log: Log
) -> tuple[JobLogDetail, ...] | None:
    """The first `limit` error/warning lines of an ended job, asked in `locale` so IPS localizes them for us.

    A transient failure leaves the job pending for the next poll (None); once its retries are spent, or when
    retrying cannot help (no permission), the event goes out without details rather than never.
    """
    if limit == 0:
        return ()
    try:
        lines = await client.get_notable_details(company, ending.job.job_handle or "", locale=locale, limit=limit)
    except IpsError as exc:
        if exc.retryable and tracker.may_wait(ending):
            log.info("job log details unavailable, retrying next poll", job=ending.job.job_handle)
            return None
        log.warning("job log details unavailable", job=ending.job.job_handle, error=str(exc))
        return ()
    return tuple(lines)
