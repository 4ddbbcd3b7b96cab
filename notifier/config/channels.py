"""Channel settings, validated without importing channel code: what a channel needs to know is checked here,
by pure functions the channels use too (an address, a sender, a signing secret), so config never depends on
the code that sends.
"""

from __future__ import annotations

import base64
import binascii
import re
from email.utils import parseaddr
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, SecretStr, field_validator, model_validator

from notifier.config.checks import Strict, http_url, not_empty
from notifier.i18n import SUPPORTED, resolve
from notifier.sources.durations import Duration

CHANNEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
DEFAULT_SMTP_PORTS = {"starttls": 587, "implicit": 465, "none": 25}
# A deliberately plain addr-spec: printable ASCII without spaces, quotes, brackets or separators, one `@`.
ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
SECRET_PREFIX = "whsec_"  # noqa: S105 - the scheme prefix of a secret, not a secret


def channel_name(value: str) -> str:
    if not re.match(CHANNEL_NAME, value):
        raise ValueError(f"channel name {value!r} may use only letters, digits, '_', '.' and '-'")
    return value


def valid_address(address: str) -> bool:
    return len(address) <= 254 and ADDRESS.fullmatch(address) is not None


def _email_address(value: str) -> str:
    if not valid_address(value):
        raise ValueError("not an email address")
    return value


def sender_address(sender: str) -> tuple[str, str]:
    """`Name <addr>` or a bare address as (display name, address), the address validated like any recipient."""
    if "\r" in sender or "\n" in sender:
        raise ValueError("email 'from' contains a line break")
    name, addr = parseaddr(sender)
    if not valid_address(addr):
        raise ValueError("email 'from' is not a valid address")
    return name, addr


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret; padding may be omitted, as the reference libraries allow."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("webhook secret is not whsec_ followed by base64") from None
    if not key:
        raise ValueError("webhook secret is empty")
    return key


class ChannelBase(Strict):
    concurrency: int = Field(default=4, ge=1, le=256)
    rate_limit: float | None = Field(default=None, gt=0, description="deliveries per second at most")
    locale: str | None = Field(
        default=None, description="the locale digests on this channel speak (default: the company's)"
    )

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str | None) -> str | None:
        if value is not None and not resolve(value):
            raise ValueError(f"no catalog serves locale {value!r} (supported: {', '.join(SUPPORTED)})")
        return value


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
    threads: bool = Field(default=True, description="post repeats and resolutions as replies to the first message")
    update_on_resolve: bool = Field(default=True, description="edit the first message to show it resolved")

    @field_validator("token", "webhook_url")
    @classmethod
    def _secret_given(cls, value: SecretStr | None) -> SecretStr | None:
        return not_empty(value)

    @model_validator(mode="after")
    def _one_way_in(self) -> SlackChannel:
        if self.webhook_url is not None and self.token is not None:
            raise ValueError("give either token + channel or webhook_url, not both")
        if self.webhook_url is None and (self.token is None or not self.channel):
            raise ValueError("give token + channel (chat.postMessage) or webhook_url (incoming webhook)")
        if self.webhook_url is not None:
            http_url(self.webhook_url.get_secret_value())
        if self.api_url is not None:
            http_url(self.api_url)
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
        sender_address(value)
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
        return http_url(value)

    @model_validator(mode="after")
    def _signing(self) -> WebhookChannel:
        every = ([self.secret] if self.secret is not None else []) + list(self.secrets)
        if not every:
            raise ValueError("give a signing secret (secret: whsec_…, or several under secrets: to rotate)")
        for value in every:
            decode_secret(value.get_secret_value())
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
        not_empty(value)
        http_url(value.get_secret_value())
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
        not_empty(value)
        if not re.fullmatch(r"[A-Za-z0-9]{32}", value.get_secret_value()):
            raise ValueError("must be the 32 letters and digits of an Events API v2 integration key")
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return http_url(value)


AnyChannel = Annotated[
    ConsoleChannel | SlackChannel | EmailChannel | WebhookChannel | TeamsChannel | PagerDutyChannel,
    Field(discriminator="type"),
]


AnyChannelConfig = ConsoleChannel | SlackChannel | EmailChannel | WebhookChannel | TeamsChannel | PagerDutyChannel


def channel_warnings(name: str, channel: AnyChannelConfig, given: frozenset[str]) -> list[tuple[str, str]]:
    """(key, message) for settings that are valid but do nothing as configured; `given` are the keys written."""
    if isinstance(channel, SlackChannel) and channel.webhook_url is not None:
        return [
            (key, f"channel {name!r}: {key} has no effect: an incoming webhook cannot reply in threads or edit "
                  "messages (give token + channel to use the Web API)")
            for key in ("threads", "update_on_resolve") if key in given
        ]  # fmt: skip
    return []
