"""The simulator's SOAP side: decode a request, authenticate it, answer it from the world. No HTTP here.

Requests are parsed with the same hardened parser the client uses (no DTDs, no entities). Failures become
the faults a real IPS server sends: authenticationFault 10000/10001/10002, authorizationFault 20003,
ipsApiFault 30001 (invalid parameter), 30002 (missing parameter) and 30003 (invalid request XML).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from notifier.ips.envelope import AUTH_NS, AuthHeader, find_child, local, parse_xml, to_datetime
from notifier.ips.errors import IpsParseError
from notifier.ips.schema import DETAIL_PAGING
from notifier.ips.simulator import answers as render
from notifier.ips.simulator.messages import operation_locale
from notifier.ips.simulator.world import LOG_SORT_FIELDS, World

OPERATIONS = ("getActiveJobs", "getJobLogs", "getJobLogDetails", "getCompanyInfo", "getScheduledJobs")
MAX_RECORDS_PER_PAGE = 1000


class SimFault(Exception):
    """A fault the simulator answers with; `render()` gives the SOAP body."""

    def __init__(self, kind: str | None, code: int | None, reason: str, faultstring: str | None = None) -> None:
        super().__init__(reason)
        self.kind, self.code, self.reason, self.faultstring = kind, code, reason, faultstring

    def render(self) -> bytes:
        return render.render_fault(self.kind, self.code, self.reason, faultstring=self.faultstring)


def invalid(reason: str) -> SimFault:
    return SimFault("ipsApi", 30001, reason)


@dataclass(frozen=True, slots=True)
class SimUser:
    """An IPS user; `operations` None means every operation is permitted."""

    password: str
    operations: frozenset[str] | None = None


# demo@example.com may do everything; noaccess@example.com may only look up companies (→ 20003 elsewhere).
DEFAULT_USERS: Mapping[str, SimUser] = {
    "demo@example.com": SimUser("demo"),
    "noaccess@example.com": SimUser("demo", frozenset({"getCompanyInfo"})),
}


@dataclass(frozen=True, slots=True)
class SoapCall:
    """A decoded request: which operation, in which API version, with which parameters and credentials."""

    operation: str
    api_version: str
    param: etree._Element
    auth: AuthHeader | None


def decode(body: bytes, soap_action: str | None) -> SoapCall:
    """The call in `body`; SOAPAction (quotes and URI prefixes allowed) wins over the body element's name."""
    try:
        root = parse_xml(body, max_bytes=4 * 1024 * 1024)
    except IpsParseError as exc:
        raise SimFault("ipsApi", 30003, f"Invalid request XML: {exc}") from None
    soap_body = find_child(root, "Body") if local(root.tag) == "Envelope" else None
    param = next((c for c in soap_body if local(c.tag)), None) if soap_body is not None else None
    if param is None:
        raise SimFault("ipsApi", 30003, "Invalid request XML: no SOAP Body element")
    action = action_name(soap_action)
    operation = action if action in OPERATIONS else local(param.tag).removesuffix("Param")
    if operation not in OPERATIONS:
        raise SimFault(None, None, f"The endpoint reference (EPR) for the Operation not found is {operation}")
    if local(param.tag) != f"{operation}Param":
        raise SimFault("ipsApi", 30003, f"Invalid request XML: expected <{operation}Param>")
    namespace = etree.QName(param).namespace or ""
    if namespace != AUTH_NS and not namespace.startswith(AUTH_NS + "/"):
        raise SimFault("ipsApi", 30003, f"Invalid request XML: unknown namespace {namespace!r}")
    header = find_child(root, "Header")
    auth = find_child(header, "authHeader") if header is not None else None
    return SoapCall(operation, namespace[len(AUTH_NS) + 1 :], param, _auth_header(auth) if auth is not None else None)


def action_name(header: str | None) -> str:
    action = (header or "").strip().strip('"').strip()
    for separator in ("#", "/", ":"):
        action = action.rpartition(separator)[2]
    return action


def _auth_header(el: etree._Element) -> AuthHeader:
    values = {local(c.tag): (c.text or "").strip() for c in el}
    status = values.get("faultHttpStatusCode", "")
    return AuthHeader(
        user=values.get("user", ""),
        password=values.get("password", ""),
        locale=values.get("locale") or None,
        app_name=values.get("appName"),
        app_version=values.get("appVersion"),
        gzip_response=False if values.get("gzipResponse") in ("false", "0") else None,
        fault_http_status_code=int(status) if status.isdecimal() and 200 <= int(status) <= 599 else None,
    )


def authenticate(call: SoapCall, basic: tuple[str, str] | None, users: Mapping[str, SimUser]) -> str:
    """The user making the call; authHeader credentials first, HTTP Basic as the alternative."""
    if call.auth is not None and call.auth.user:
        user, password = call.auth.user, call.auth.password
    elif basic is not None and basic[0]:
        user, password = basic
    else:
        raise SimFault("authentication", 10000, "No credentials were provided")
    account = users.get(user)
    if account is None:
        raise SimFault("authentication", 10002, f"Invalid user: {user}")
    if password != account.password:
        raise SimFault("authentication", 10001, "Invalid credentials")
    if account.operations is not None and call.operation not in account.operations:
        raise SimFault("authorization", 20003, "User does not have permission to access operation")
    return user


# ------------------------------------------------------------------------------------------ operations


class Params:
    """Typed, validated access to the children of an `<operationParam>` element."""

    def __init__(self, el: etree._Element) -> None:
        self._children: dict[str, etree._Element] = {}
        for child in el:
            self._children.setdefault(local(child.tag), child)

    def present(self, name: str) -> bool:
        return name in self._children

    def text(self, name: str, *, required: bool = False) -> str | None:
        el = self._children.get(name)
        value = (el.text or "").strip() if el is not None else ""
        if not value and required:
            raise SimFault("ipsApi", 30002, f"Missing required parameter: {name}")
        return value or None

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.text(name) or default
        if value not in choices:
            raise invalid(f"Invalid value for {name}: {value}")
        return value

    def integer(self, name: str, default: int | None, low: int, high: int) -> int | None:
        value = self.text(name)
        if value is None:
            return default
        if not value.lstrip("-").isdecimal() or not low <= int(value) <= high:
            raise invalid(f"Invalid value for {name}: {value[:40]}")
        return int(value)

    def date(self, name: str) -> datetime | None:
        el = self._children.get(name)
        try:
            return to_datetime(el) if el is not None else None
        except IpsParseError:
            raise invalid(f"Invalid value for {name}: {(el.text or '')[:40] if el is not None else ''}") from None

    def strings(self, name: str) -> list[str] | None:
        el = self._children.get(name)
        if el is None:
            return None
        return [(c.text or "").strip() for c in el if local(c.tag) in ("items", "item")]

    def company(self, world: World, *, required: bool = False) -> str | None:
        handle = self.text("companyHandle", required=required)
        if handle is not None and handle not in world.companies:
            raise invalid(f"Invalid company handle: {handle}")
        return handle


def answer(world: World, call: SoapCall, accept_language: str | None, prefix: str | None) -> bytes:
    """The response body for an authenticated call."""
    header_locale = call.auth.locale if call.auth is not None else None
    locale = operation_locale(header_locale, accept_language)
    return _HANDLERS[call.operation](world, Params(call.param), locale, call.api_version, prefix)


def _active_jobs(world: World, p: Params, locale: str, version: str, prefix: str | None) -> bytes:
    company = p.company(world)
    job_handle, original_name = p.text("jobHandle"), p.text("originalName")
    waiting = p.text("includeWaitingJobs") not in ("false", "0")
    now, jobs = world.live_jobs(company)
    items = [
        job.xml(now, locale, prefix)
        for job in jobs
        if (job_handle is None or job.plan.job_handle == job_handle)
        and (original_name is None or job.plan.original_name == original_name)
        and (waiting or job.started(now))
    ]
    return render.render_active_job_items(items, version, prefix)


def _job_logs(world: World, p: Params, locale: str, version: str, prefix: str | None) -> bytes:
    logs = world.job_logs(
        p.company(world),
        start=p.date("startDate"),
        end=p.date("endDate"),
        sort_by=p.choice("sortBy", LOG_SORT_FIELDS, "StartDate"),
        descending=p.choice("sortDirection", ("Ascending", "Descending"), "Ascending") == "Descending",
        num_rows=p.integer("numRows", None, 1, 1_000_000),
    )
    return render.render_job_logs(logs, version, prefix)


def _job_log_details(world: World, p: Params, locale: str, version: str, prefix: str | None) -> bytes:
    if world.older_detail_schema:
        unknown = next((name for name in DETAIL_PAGING if p.present(name)), None)
        if unknown is not None:  # refused by Axis2's data binding, before any IPS code: no IPS fault detail
            raise SimFault(None, None, "", faultstring=f"Unexpected subelement {unknown}")
    logs = world.job_log_details(
        p.company(world, required=True) or "",
        locale=locale,
        job_handle=p.text("jobHandle"),
        original_name=p.text("originalName"),
        log_types=p.strings("logTypeArray"),
        per_page=p.integer("recordsPerPage", MAX_RECORDS_PER_PAGE, 1, MAX_RECORDS_PER_PAGE) or MAX_RECORDS_PER_PAGE,
        page=p.integer("resultsPage", 1, 1, 1_000_000) or 1,
        descending=p.choice("sortDirection", ("Ascending", "Descending"), "Ascending") == "Descending",
        by_log_type=p.choice("sortBy", ("Date", "LogType"), "Date") == "LogType",
    )
    return render.render_job_log_details(logs, version, prefix)


def _company_info(world: World, p: Params, locale: str, version: str, prefix: str | None) -> bytes:
    handle, name = p.text("companyHandle"), p.text("companyName")
    if handle is None and name is None:
        raise SimFault("ipsApi", 30002, "Missing required parameter: companyHandle or companyName")
    company = world.company_info(handle, name)
    if company is None:
        raise invalid(f"Invalid company: {handle or name}")
    return render.render_company_info(company, version, prefix)


def _scheduled_jobs(world: World, p: Params, locale: str, version: str, prefix: str | None) -> bytes:
    company = p.company(world, required=True) or ""
    jobs = world.scheduled_jobs(company, p.text("jobHandle"), p.text("originalName"))
    return render.render_scheduled_jobs(jobs, version, prefix)


_HANDLERS: dict[str, Callable[[World, Params, str, str, str | None], bytes]] = {
    "getActiveJobs": _active_jobs,
    "getJobLogs": _job_logs,
    "getJobLogDetails": _job_log_details,
    "getCompanyInfo": _company_info,
    "getScheduledJobs": _scheduled_jobs,
}
