"""The IPS client: one shared aiohttp session, a timeout on every call, a concurrency cap across companies.

Transport problems become typed errors that say whether a retry can help; everything about the XML itself
is left to the pure parsing in `envelope`, `parse` and `details`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import aiohttp
import structlog

from notifier.ips import details, parse
from notifier.ips.envelope import (
    AuthHeader,
    api_namespace,
    build_request,
    find_child,
    html_page,
    local,
    parse_fault,
    parse_xml,
)
from notifier.ips.errors import IpsError, IpsFault, IpsParseError, IpsTimeout, IpsTransportError
from notifier.ips.schema import DETAIL_PAGING
from notifier.models import ActiveJob, Company, JobLog, JobLogDetail, ScheduledJob

T = TypeVar("T")
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
PARSING_THREADS = 1
PARSE_IN_THREAD_ABOVE = 256 * 1024  # bytes (some 250 jobs); bigger answers are parsed off the event loop
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class IpsSettings:
    """Everything the client needs from configuration; the password never appears in its repr."""

    endpoint: str
    user: str
    password: str
    api_version: str = "2014-04-03"
    app_name: str = "dmc-notifier"
    app_version: str | None = None
    locale: str | None = None
    timeout: float = 30.0
    max_response_bytes: int = 32 * 1024 * 1024
    gzip: bool = True
    parse_in_thread_above: int = PARSE_IN_THREAD_ABOVE

    def __repr__(self) -> str:
        return f"IpsSettings(endpoint={self.endpoint!r}, user={self.user!r}, api_version={self.api_version!r})"


class IpsClient:
    """Typed calls to the IPS operations the notifier uses."""

    def __init__(
        self, session: aiohttp.ClientSession, settings: IpsSettings, limit: asyncio.Semaphore | None = None
    ) -> None:
        self._session = session
        self._settings = settings
        self._limit = limit or asyncio.Semaphore(8)
        # Learnt from this endpoint: it refuses the paging members of getJobLogDetailsParam (an older schema).
        self.details_without_paging = False
        # One big answer parsed at a time in a worker thread: each holds a whole body and its tree in memory.
        self._parsing = asyncio.Semaphore(PARSING_THREADS)
        self._parser = parse.Parser()  # keeps the job-type details it has read, shared between equal ones

    async def get_active_jobs(self, company_handle: str) -> list[ActiveJob]:
        params = [("companyHandle", company_handle)]
        return await self._call("getActiveJobs", params, self._parser.active_jobs)

    async def get_job_logs(
        self,
        company_handle: str,
        *,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        num_rows: int | None = None,
    ) -> list[JobLog]:
        params: list[tuple[str, Any]] = [
            ("companyHandle", company_handle),
            ("sortBy", "StartDate"),
            ("sortDirection", "Ascending"),
            ("startDate", start_date),
            ("endDate", end_date),
            ("numRows", num_rows),
        ]
        return await self._call("getJobLogs", params, parse.parse_job_logs)

    async def get_job_log_details(
        self,
        company_handle: str,
        job_handle: str,
        *,
        locale: str | None,
        log_types: list[str] | None = None,
        records_per_page: int = 1000,
    ) -> list[JobLog]:
        """Log details of one job, asked in `locale` so that `logMessage` comes back in that language."""
        paging = _detail_paging(log_types, records_per_page)
        return await self._details(company_handle, job_handle, locale, paging, parse.parse_job_log_details)

    async def get_notable_details(
        self, company_handle: str, job_handle: str, *, locale: str | None, limit: int
    ) -> list[JobLogDetail]:
        """The first `limit` error, failure and warning lines of one job's log, in `locale`; the other lines of
        the answer are not read (`details.notable_details`)."""

        def notable(data: bytes, max_bytes: int, namespace: str | None) -> list[JobLogDetail]:
            return details.notable_details(data, max_bytes, namespace, limit=limit)

        return await self._details(company_handle, job_handle, locale, _detail_paging(None, 1000), notable)

    async def _details(
        self,
        company_handle: str,
        job_handle: str,
        locale: str | None,
        paging: list[tuple[str, Any]],
        parser: Callable[[bytes, int, str | None], T],
    ) -> T:
        """A server on an older schema faults for the paging members: the call is made once more without them,
        and this endpoint is asked without them from then on (its default page, up to 1000 lines, is enough)."""
        params: list[tuple[str, Any]] = [("companyHandle", company_handle), ("jobHandle", job_handle)]
        if not self.details_without_paging:
            try:
                return await self._call("getJobLogDetails", params + paging, parser, locale)
            except IpsFault as fault:
                if not refuses_elements(fault, DETAIL_PAGING):
                    raise
                log.info("getJobLogDetails refused its paging members; asking without them", reason=str(fault))
        found = await self._call("getJobLogDetails", params, parser, locale=locale)
        self.details_without_paging = True  # only once the plain call worked: never lose the paging for nothing
        return found

    async def get_company_info(self, *, company_handle: str | None = None, company_name: str | None = None) -> Company:
        params = [("companyHandle", company_handle), ("companyName", company_name)]
        return await self._call("getCompanyInfo", params, parse.parse_company_info)

    async def get_scheduled_jobs(self, company_handle: str) -> list[ScheduledJob]:
        params = [("companyHandle", company_handle)]
        return await self._call("getScheduledJobs", params, parse.parse_scheduled_jobs)

    async def _call(
        self,
        operation: str,
        params: Iterable[tuple[str, Any]],
        parser: Callable[[bytes, int, str | None], T],
        locale: str | None = None,
    ) -> T:
        """The parsed answer. A big one is parsed in a worker thread, so a company with a hundred thousand
        jobs does not hold up every other company's polls (and the status page) while it is read."""
        s = self._settings
        status, body = await self.post(operation, params, locale=locale)
        if status >= 300:
            raise _http_error(status, body, s.max_response_bytes)
        page = html_page(body)
        if page is not None:  # a proxy's login or error page, not the service: never a DTD complaint
            raise IpsTransportError(
                f"HTTP {status}: {_described(page)}, not a SOAP response", retryable=True, status=status
            )
        namespace = api_namespace(s.api_version)
        if len(body) <= s.parse_in_thread_above:
            return parser(body, s.max_response_bytes, namespace)
        async with self._parsing:
            return await asyncio.to_thread(parser, body, s.max_response_bytes, namespace)

    async def post(
        self, operation: str, params: Iterable[tuple[str, Any]], *, locale: str | None = None
    ) -> tuple[int, bytes]:
        """Send one envelope; return the HTTP status and the (decompressed, size-capped) body."""
        s = self._settings
        auth = AuthHeader(
            user=s.user,
            password=s.password,
            locale=locale or s.locale,
            app_name=s.app_name,
            app_version=s.app_version,
            gzip_response=None if s.gzip else False,
        )
        data = build_request(operation, params, auth, s.api_version)
        headers = {
            "SOAPAction": operation,
            "Content-Type": "text/xml; charset=UTF-8",
            "Accept-Encoding": "gzip" if s.gzip else "identity",
        }
        async with self._limit:
            try:
                async with asyncio.timeout(s.timeout):
                    return await self._exchange(data, headers)
            except TimeoutError:
                raise IpsTimeout(f"{operation}: no answer within {s.timeout:g}s") from None
            except aiohttp.ClientError as exc:
                raise IpsTransportError(f"{operation}: {type(exc).__name__}: {exc}", retryable=True) from None

    async def _exchange(self, data: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        async with self._session.post(
            self._settings.endpoint, data=data, headers=headers, allow_redirects=False
        ) as resp:
            return resp.status, await _read_capped(resp, self._settings.max_response_bytes)


async def _read_capped(resp: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """Read the decompressed body, refusing to buffer more than `max_bytes` (a gzip bomb stops here)."""
    if resp.content_length is not None and resp.content_length > max_bytes and "Content-Encoding" not in resp.headers:
        raise IpsTransportError(f"response of {resp.content_length} bytes exceeds the cap", retryable=True)
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > max_bytes:
            raise IpsTransportError(f"response exceeds the {max_bytes}-byte cap", retryable=True)
        chunks.append(chunk)
    return b"".join(chunks)


def _detail_paging(log_types: list[str] | None, records_per_page: int) -> list[tuple[str, Any]]:
    return [
        ("logTypeArray", log_types),
        ("recordsPerPage", records_per_page),
        ("resultsPage", 1),
        ("sortBy", "Date"),
        ("sortDirection", "Ascending"),
    ]


def refuses_elements(fault: IpsFault, names: tuple[str, ...]) -> bool:
    """Whether a fault says the request held elements the server does not know (an older schema).

    Axis2 refuses them before IPS code runs ("Unexpected subelement recordsPerPage", no IPS detail); IPS itself
    answers ipsApiFault 30003 (invalid request XML). Credentials faults never qualify.
    """
    if fault.is_auth:
        return False
    text = f"{fault.faultstring} {fault.reason or ''}".lower()
    named = any(name.lower() in text for name in names)
    return named or fault.code == 30003 or "unexpected subelement" in text or "unexpected element" in text


def _http_error(status: int, body: bytes, max_bytes: int) -> IpsError:
    """A non-2xx answer: a SOAP fault if the body holds one, else a transport error by status."""
    retryable = status in _RETRYABLE_STATUS or status >= 500
    page = html_page(body)
    if page is not None:
        return IpsTransportError(f"HTTP {status}: {_described(page)}", retryable=retryable, status=status)
    try:
        root = parse_xml(body, max_bytes)
        body_el = find_child(root, "Body") if local(root.tag) == "Envelope" else None
        fault = find_child(body_el, "Fault") if body_el is not None else None
        if fault is not None:
            return parse_fault(fault, http_status=status)
    except IpsParseError:
        pass
    return IpsTransportError(f"HTTP {status} without a SOAP fault", retryable=retryable, status=status)


def _described(page: str) -> str:
    return f"an HTML page ({page!r})" if page else "an HTML page"
