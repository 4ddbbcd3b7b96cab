"""The config's sections as frozen, validated models; `Config` is the whole file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, SecretStr, ValidationInfo, field_validator, model_validator

from notifier.config.channels import AnyChannel, channel_name
from notifier.config.checks import (
    LocaleTag,
    Strict,
    base_dir,
    expand,
    http_url,
    not_empty,
    off_or_at_least_a_second,
    time_zone,
)
from notifier.models import CompanyId
from notifier.sources.durations import Duration
from notifier.store.location import DEFAULT_STATE, StateLocation, locate


def company_key(handle: object, name: object) -> str:
    """What makes a company entry unique: its handle (`47` and "47" are the same), else its name."""
    if isinstance(handle, int) and not isinstance(handle, bool):
        handle = str(handle)
    return CompanyId(handle if isinstance(handle, str) else "", str(name) if name else None).key


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
        return http_url(value)

    @field_validator("password")
    @classmethod
    def _password_given(cls, value: SecretStr) -> SecretStr | None:
        return not_empty(value)


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
        return off_or_at_least_a_second(value)

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
    timezone: Annotated[str, AfterValidator(time_zone)] = "UTC"
    interval: Duration | None = None
    schedules_interval: Duration | None = None  # default: poll.schedules_interval; 0 turns them off here

    @field_validator("schedules_interval")
    @classmethod
    def _schedules_interval(cls, value: float | None) -> float | None:
        return None if value is None else off_or_at_least_a_second(value)

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
    def id(self) -> CompanyId:
        return CompanyId(self.handle or "", self.name)

    @property
    def label(self) -> str:
        return self.id.label


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
        http_url(value)
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


class ClusterConfig(Strict):
    """Replicas sharing a PostgreSQL state: how long a company stays a replica's without a renewal (renewed three
    times within it, so a replica that dies is replaced after at most this long)."""

    lease: Duration = Field(default=15.0, ge=1.0)


class LogConfig(Strict):
    format: Literal["json", "console", "auto"] = "auto"
    level: Literal["debug", "info", "warning", "error"] = "info"


class Config(Strict):
    ips: IpsConfig
    poll: PollConfig = PollConfig()
    companies: tuple[CompanyConfig, ...]
    rules: Path | None = None
    templates: Path | None = None
    state: str = Field(default=DEFAULT_STATE, validate_default=True)  # relative to the file too
    state_password: SecretStr | None = None  # a database's password kept out of the URL (`state_password_file`)
    cluster: ClusterConfig = ClusterConfig()
    shutdown_grace: Duration = 10.0
    retention: Duration = Field(default=30 * 86400.0, ge=3600.0, description="keep delivered notifications this long")
    channels: dict[Annotated[str, AfterValidator(channel_name)], AnyChannel] = Field(default_factory=dict)
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
        return None if value is None else base_dir(info) / expand(value)

    @field_validator("state")
    @classmethod
    def _state_url(cls, value: str, info: ValidationInfo) -> str:
        return locate(value, base_dir(info)).url

    @model_validator(mode="after")
    def _state_password(self) -> Config:
        if self.state_password is not None and not self.state_location.shared:
            raise ValueError("state_password is for a postgresql:// state only")
        return self

    @model_validator(mode="after")
    def _unique_companies(self, info: ValidationInfo) -> Config:
        if (info.context or {}).get("companies_checked"):
            return self  # load_config has reported duplicates already, each at its own line
        seen: set[str] = set()
        for company in self.companies:
            key = company_key(company.handle, company.name)
            if key in seen:
                raise ValueError(f"company {company.label!r} is listed twice")
            seen.add(key)
        return self

    @property
    def state_location(self) -> StateLocation:
        """Where the state lives (the store package alone knows what each kind of location means)."""
        password = self.state_password.get_secret_value() if self.state_password is not None else None
        return locate(self.state, Path("/"), password)
