"""The config file → validated, frozen objects. Every problem is a `file:line: message`, all of them at once.

Order of work: parse YAML with line numbers; substitute `${ENV}` in parsed string values (never in raw text,
so a value can never change the document's structure); read `*_file` secrets; validate with pydantic.
Relative paths (`rules`, `templates`, `state`, secret files) are relative to the config file.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from notifier.config.substitute import Substitution
from notifier.sources.durations import Duration
from notifier.sources.sourcemap import SourceDoc, SourceError, SourceErrors, load_yaml, validation_errors

CHANNEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
STATE_SCHEMES = ("sqlite://",)
DEFAULT_SMTP_PORTS = {"starttls": 587, "implicit": 465, "none": 25}


class Strict(BaseModel):
    """Frozen, and unknown keys are errors: a typo must never pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _base_dir(info: ValidationInfo) -> Path:
    context = info.context or {}
    return Path(context.get("base_dir", "."))


def _expand(path: Path) -> Path:
    """`~/x` and `~user/x` as the shell would expand them; a user without a home is a config error."""
    try:
        return path.expanduser()
    except RuntimeError:
        raise ValueError(f"cannot expand {str(path).split('/')[0]!r}: no such user or home directory") from None


def _locale_tag(value: str | None) -> str | None:
    from notifier.i18n import tag_problem

    problem = tag_problem(value) if value is not None else None
    if problem:
        raise ValueError(problem)
    return value


LocaleTag = Annotated[str | None, AfterValidator(_locale_tag)]


def _time_zone(value: str) -> str:
    """An IANA zone; a wrong case or a near miss comes with the name meant (`europe/berlin` → Europe/Berlin)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        zones = available_timezones()
        by_case = {zone.casefold(): zone for zone in zones}
        meant = by_case.get(value.casefold()) or next(iter(difflib.get_close_matches(value, sorted(zones), n=1)), None)
        hint = f" (did you mean {meant!r}?)" if meant else " (use an IANA name such as Europe/Berlin)"
        raise ValueError(f"unknown time zone {value!r}{hint}") from None
    return value


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _not_empty(value: SecretStr | None) -> SecretStr | None:
    # An environment variable set to "" or an empty secret file is a mistake, never a real credential.
    if value is not None and not value.get_secret_value():
        raise ValueError("is empty")
    return value


def _off_or_at_least_a_second(value: float) -> float:
    if 0 < value < 1:
        raise ValueError("give 0 (off) or at least 1s")
    return value


def _channel_name(value: str) -> str:
    if not re.match(CHANNEL_NAME, value):
        raise ValueError(f"channel name {value!r} may use only letters, digits, '_', '.' and '-'")
    return value


def _email_address(value: str) -> str:
    from notifier.channels.email import valid_address

    if not valid_address(value):
        raise ValueError("not an email address")
    return value


class IpsConfig(Strict):
    endpoint: str
    api_version: str = Field(default="2014-04-03", pattern=r"^\d{4}-\d{2}-\d{2}(-beta)?$|^$")
    user: str = Field(min_length=1)
    password: SecretStr
    locale: LocaleTag = None
    app_name: str = "dmc-notifier"
    app_version: str | None = None
    timeout: Duration = Field(default=30.0, gt=0)
    gzip: bool = True
    max_response_bytes: int = Field(default=32 * 1024 * 1024, gt=0)

    @field_validator("endpoint")
    @classmethod
    def _endpoint_url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("password")
    @classmethod
    def _password_given(cls, value: SecretStr) -> SecretStr | None:
        return _not_empty(value)


class PollConfig(Strict):
    interval: Duration = 30.0
    jitter: float = Field(default=0.1, ge=0.0, le=0.5)
    concurrency: int = Field(default=8, ge=1, le=256)
    max_backoff: Duration = Field(default=300.0, ge=1)
    auth_backoff: Duration = 900.0
    unreachable_after: int = Field(default=3, ge=1)
    log_retry_polls: int = Field(default=5, ge=0)
    queue_size: int = Field(default=10_000, ge=1)
    details_limit: int = Field(default=20, ge=0, le=1000)
    catch_up: Duration = 6 * 3600.0  # after a restart, job endings of up to this much downtime are announced
    schedules_interval: Duration = 300.0  # getScheduledJobs per company this often; 0 turns schedules off
    schedule_grace: Duration = Field(default=600.0, ge=60.0)  # a fire time without a run this long is missed

    @field_validator("schedules_interval")
    @classmethod
    def _schedules_interval(cls, value: float) -> float:
        return _off_or_at_least_a_second(value)

    @field_validator("interval")
    @classmethod
    def _not_too_fast(cls, value: float) -> float:
        if value < 1:
            raise ValueError("poll interval must be at least 1s")
        return value

    @field_validator("auth_backoff")
    @classmethod
    def _patient_with_credentials(cls, value: float) -> float:
        if value < 60:
            raise ValueError("auth_backoff must be at least 1m: IPS may lock a user retried with bad credentials")
        return value


class CompanyConfig(Strict):
    handle: str | None = None
    name: str | None = None
    locale: LocaleTag = None
    timezone: Annotated[str, AfterValidator(_time_zone)] = "UTC"
    interval: Duration | None = None
    schedules_interval: Duration | None = None  # default: poll.schedules_interval; 0 turns them off here

    @field_validator("schedules_interval")
    @classmethod
    def _schedules_interval(cls, value: float | None) -> float | None:
        return None if value is None else _off_or_at_least_a_second(value)

    @field_validator("handle", mode="before")
    @classmethod
    def _handle_as_text(cls, value: Any) -> Any:
        # `handle: 47` is a number in YAML; handles are strings in IPS.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: float | None) -> float | None:
        if value is not None and value < 1:
            raise ValueError("poll interval must be at least 1s")
        return value

    @model_validator(mode="after")
    def _handle_or_name(self) -> CompanyConfig:
        if not self.handle and not self.name:
            raise ValueError("give the company's handle or its name")
        return self

    @property
    def label(self) -> str:
        return self.handle or self.name or "?"


class ChannelBase(Strict):
    concurrency: int = Field(default=4, ge=1, le=256)
    rate_limit: float | None = Field(default=None, gt=0, description="deliveries per second at most")


class ConsoleChannel(ChannelBase):
    type: Literal["console"]
    format: Literal["json", "summary"] = Field(
        default="json", description="json: the webhook body as one line; summary: one readable line for people"
    )


class SlackChannel(ChannelBase):
    type: Literal["slack"]
    token: SecretStr | None = None
    channel: str | None = None
    webhook_url: SecretStr | None = None
    api_url: str | None = None
    timeout: Duration = Field(default=10.0, gt=0)
    concurrency: int = Field(default=1, ge=1, le=64)
    rate_limit: float | None = Field(default=1.0, gt=0, description="Slack allows about 1 message/s per channel")

    @field_validator("token", "webhook_url")
    @classmethod
    def _secret_given(cls, value: SecretStr | None) -> SecretStr | None:
        return _not_empty(value)

    @model_validator(mode="after")
    def _one_way_in(self) -> SlackChannel:
        if self.webhook_url is not None and self.token is not None:
            raise ValueError("give either token + channel or webhook_url, not both")
        if self.webhook_url is None and (self.token is None or not self.channel):
            raise ValueError("give token + channel (chat.postMessage) or webhook_url (incoming webhook)")
        if self.webhook_url is not None:
            _http_url(self.webhook_url.get_secret_value())
        if self.api_url is not None:
            _http_url(self.api_url)
        return self


class EmailChannel(ChannelBase):
    type: Literal["email"]
    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)  # default: 587 for starttls, 465 for implicit, 25 for none
    tls: Literal["starttls", "implicit", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(alias="from")
    to: tuple[Annotated[str, AfterValidator(_email_address)], ...] = ()
    timeout: Duration = Field(default=30.0, gt=0)
    concurrency: int = Field(default=2, ge=1, le=64)

    @model_validator(mode="before")
    @classmethod
    def _tls_and_port(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "starttls" in data:  # `starttls: true|false` is the short spelling of `tls: starttls|none`
            flag = data.pop("starttls")
            if not isinstance(flag, bool):
                raise ValueError("starttls must be true or false")
            if "tls" in data:
                raise ValueError("give tls or starttls, not both")
            data["tls"] = "starttls" if flag else "none"
        data.setdefault("port", DEFAULT_SMTP_PORTS.get(data.get("tls", "starttls"), 587))
        return data

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        from notifier.channels.base import ConfigurationError
        from notifier.channels.email import parse_sender

        try:
            parse_sender(value)
        except ConfigurationError as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _check(self) -> EmailChannel:
        if (self.username is None) != (self.password is None):
            raise ValueError("give username and password together")
        return self


class WebhookChannel(ChannelBase):
    type: Literal["webhook"]
    url: str
    secret: SecretStr | None = None
    secrets: tuple[SecretStr, ...] = ()
    timeout: Duration = Field(default=15.0, gt=0)
    headers: dict[str, str] = Field(default_factory=dict)
    concurrency: int = Field(default=8, ge=1, le=256)

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, value: str) -> str:
        return _http_url(value)

    @model_validator(mode="after")
    def _signing(self) -> WebhookChannel:
        from notifier.channels.base import ConfigurationError
        from notifier.channels.webhook import decode_secret

        every = ([self.secret] if self.secret is not None else []) + list(self.secrets)
        if not every:
            raise ValueError("give a signing secret (secret: whsec_…, or several under secrets: to rotate)")
        for value in every:
            try:
                decode_secret(value.get_secret_value())
            except ConfigurationError as exc:
                raise ValueError(str(exc)) from None
        reserved = {h.lower() for h in self.headers} & {"webhook-id", "webhook-timestamp", "webhook-signature"}
        if reserved:
            raise ValueError(f"headers may not set {sorted(reserved)[0]}")
        return self


class TeamsChannel(ChannelBase):
    type: Literal["teams"]
    webhook_url: SecretStr  # a Teams Workflows (Power Automate) webhook; its signature makes it a credential
    timeout: Duration = Field(default=15.0, gt=0)
    concurrency: int = Field(default=1, ge=1, le=64)  # one at a time keeps a channel's cards in order
    rate_limit: float | None = Field(default=1.0, gt=0, description="Teams throttles a webhook at a few per second")

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: SecretStr) -> SecretStr:
        _not_empty(value)
        _http_url(value.get_secret_value())
        return value


PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"


class PagerDutyChannel(ChannelBase):
    type: Literal["pagerduty"]
    routing_key: SecretStr  # the integration key of an Events API v2 integration
    api_url: str = PAGERDUTY_EVENTS_URL
    timeout: Duration = Field(default=10.0, gt=0)
    concurrency: int = Field(default=2, ge=1, le=64)
    rate_limit: float | None = Field(default=2.0, gt=0, description="PagerDuty takes 120 events a minute per key")

    @field_validator("routing_key")
    @classmethod
    def _routing_key(cls, value: SecretStr) -> SecretStr:
        _not_empty(value)
        if not re.fullmatch(r"[A-Za-z0-9]{32}", value.get_secret_value()):
            raise ValueError("must be the 32 letters and digits of an Events API v2 integration key")
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return _http_url(value)


AnyChannel = Annotated[
    ConsoleChannel | SlackChannel | EmailChannel | WebhookChannel | TeamsChannel | PagerDutyChannel,
    Field(discriminator="type"),
]


class DeliveryConfig(Strict):
    """How the outbox retries: a receiver's Retry-After is honoured up to `max_retry_after`."""

    max_retry_after: Duration = Field(default=3600.0, ge=1)


class HttpConfig(Strict):
    listen: str | None = None
    public_url: str | None = None  # where people reach /status (a proxy's address); messages link to it

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _http_url(value)
        if "?" in value or "#" in value:
            raise ValueError("must be the base address of the status page, without ?query or #fragment")
        return value.rstrip("/")

    @property
    def status_url(self) -> str | None:
        """The status page as people reach it, when `public_url` says where that is."""
        return f"{self.public_url}/status" if self.public_url else None

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("listen must be HOST:PORT, e.g. 127.0.0.1:9464")
        return value

    @property
    def host(self) -> str:
        return (self.listen or "").rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int((self.listen or ":0").rpartition(":")[2])


class LogConfig(Strict):
    format: Literal["json", "console", "auto"] = "auto"
    level: Literal["debug", "info", "warning", "error"] = "info"


class Config(Strict):
    ips: IpsConfig
    poll: PollConfig = PollConfig()
    companies: tuple[CompanyConfig, ...]
    rules: Path | None = None
    templates: Path | None = None
    state: str = Field(default="sqlite:///notifier-state.db", validate_default=True)  # relative to the file too
    shutdown_grace: Duration = 10.0
    retention: Duration = Field(default=30 * 86400.0, ge=3600.0, description="keep delivered notifications this long")
    channels: dict[Annotated[str, AfterValidator(_channel_name)], AnyChannel] = Field(default_factory=dict)
    delivery: DeliveryConfig = DeliveryConfig()
    http: HttpConfig = HttpConfig()
    log: LogConfig = LogConfig()
    source: Path = Field(default=Path("notifier.yaml"), exclude=True)

    @field_validator("companies", mode="before")
    @classmethod
    def _some_companies(cls, value: Any) -> Any:
        if value is None or value == [] or value == ():
            raise ValueError("list at least one company (handle: or name:)")
        return value

    @field_validator("rules", "templates")
    @classmethod
    def _relative_to_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _base_dir(info) / _expand(value)

    @field_validator("state")
    @classmethod
    def _state_url(cls, value: str, info: ValidationInfo) -> str:
        if "://" in value and not value.startswith(STATE_SCHEMES):
            raise ValueError("state must be sqlite:///PATH (relative to this file) or sqlite:////ABSOLUTE/PATH")
        path = value.removeprefix("sqlite:///") if value.startswith("sqlite://") else value
        if not path:
            raise ValueError("state needs a file name, e.g. sqlite:///notifier-state.db")
        return "sqlite:///" + str(_base_dir(info) / _expand(Path(path)))

    @model_validator(mode="after")
    def _unique_companies(self, info: ValidationInfo) -> Config:
        if (info.context or {}).get("companies_checked"):
            return self  # load_config has reported duplicates already, each at its own line
        seen: set[str] = set()
        for company in self.companies:
            key = _company_key(company.handle, company.name)
            if key in seen:
                raise ValueError(f"company {company.label!r} is listed twice")
            seen.add(key)
        return self

    @property
    def state_path(self) -> Path:
        return Path(self.state.removeprefix("sqlite:///"))


# ------------------------------------------------------------------------------------------------ loading


def load_config(path: Path, environ: Mapping[str, str] | None = None, *, verify_state: bool = False) -> Config:
    """The validated config at `path`, or SourceErrors with every problem found.

    An existing state file must at least carry a sound SQLite header; with `verify_state` every page of it
    is read too (read-only), as `notifier check` and `notifier run` do before they start.
    """
    path = Path(path)
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise SourceErrors([doc.error((), "expected a mapping of settings (ips:, companies:, …)")])
    errors: list[SourceError] = []
    if "source" in doc.data:
        errors.append(doc.error(("source",), "unknown key 'source'"))
    base = path.parent.resolve()
    values = Substitution(doc, errors)
    data = values.interpolate(doc.data, (), os.environ if environ is None else environ)
    data = values.read_secret_files(data, (), base)
    data = {k: v for k, v in data.items() if k != "source"}
    errors.extend(_duplicate_companies(doc, data.get("companies")))
    config: Config | None = None
    try:
        context = {"base_dir": base, "companies_checked": True}
        config = Config.model_validate({**data, "source": path}, context=context)
    except ValidationError as exc:
        errors.extend(validation_errors(doc, exc, (), model=Config, ignore=values.broken))
    if config is not None:
        errors.extend(_missing_paths(doc, config, verify_state))
    if errors or config is None:
        raise SourceErrors(values.hide_secrets(sorted(errors, key=lambda e: e.line)))
    return config


def _company_key(handle: object, name: object) -> str:
    """What makes a company entry unique: its handle (`47` and "47" are the same), else its name."""
    if isinstance(handle, int) and not isinstance(handle, bool):
        handle = str(handle)
    return handle if isinstance(handle, str) and handle else f"name:{name}"


def _duplicate_companies(doc: SourceDoc, companies: Any) -> list[SourceError]:
    """Each repeated company at its own line, whether or not the rest of the file is valid."""
    if not isinstance(companies, list):
        return []
    errors: list[SourceError] = []
    first: dict[str, int] = {}
    for index, entry in enumerate(companies):
        if not isinstance(entry, dict) or not (entry.get("handle") or entry.get("name")):
            continue
        key = _company_key(entry.get("handle"), entry.get("name"))
        if key in first:
            label = key.removeprefix("name:")
            earlier = doc.line_of(("companies", first[key]))
            message = f"company {label!r} is listed twice (also on line {earlier})"
            errors.append(doc.error(("companies", index), message))
        else:
            first[key] = index
    return errors


def _missing_paths(doc: SourceDoc, config: Config, verify_state: bool) -> list[SourceError]:
    """`rules:` and `templates:` must name something that exists (relative paths are from the config file);
    `state:` a file that can be created, or a database that is not damaged."""
    errors = []
    for key, value in (("rules", config.rules), ("templates", config.templates)):
        if value is not None and not value.exists():
            errors.append(doc.error((key,), f"{key}: {value} does not exist"))
        elif key == "templates" and value is not None and not value.is_dir():
            errors.append(doc.error((key,), f"templates: {value} is not a directory"))
    problem = _unwritable(config.state_path) or _damaged(config.state_path, verify_state)
    if problem:
        errors.append(doc.error(("state",), f"state: {problem}"))
    return errors


def _damaged(path: Path, thorough: bool) -> str | None:
    from notifier.store.sqlite.connection import StateFileError
    from notifier.store.sqlite.inspect import file_problem, header_problem

    problem = file_problem(path) if thorough else header_problem(path)
    return None if problem is None else str(StateFileError(path, problem))


def _unwritable(path: Path) -> str | None:
    """Why the state file could not be created or written, found before the daemon tries to."""
    if path.exists():
        return None if os.access(path, os.R_OK | os.W_OK) else f"{path} is not readable and writable"
    folder = path.parent
    if not folder.exists():
        # Not created on the fly: a typo or an unmounted volume would otherwise put the alert state and the
        # outbox somewhere nobody looks, and the next start (with the volume back) would begin empty.
        existing = next(parent for parent in folder.parents if parent.exists())
        if not existing.is_dir():
            return f"{existing} is not a directory"
        return f"the directory {folder} does not exist: create it, or point state: at an existing one"
    if not folder.is_dir():
        return f"{folder} is not a directory"
    return None if os.access(folder, os.W_OK | os.X_OK) else f"cannot create {path}: {folder} is not writable"
