"""The configuration turned into what each stage is built with: settings, company plans, sessions, lanes.

The stages take their own settings types, never the config: only the app (and `watch`) read the config.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp

from notifier import __version__
from notifier.channels.registry import build_channel
from notifier.compose.render import Renderer
from notifier.config import CompanyConfig, Config, EmailChannel
from notifier.dispatch.dispatcher import Lane
from notifier.dispatch.limits import CircuitBreaker, RateLimiter
from notifier.dispatch.policy import RetrySettings
from notifier.i18n.catalogs import Catalogs
from notifier.ingest.pollers import CompanyPlan
from notifier.ingest.settings import PollSettings
from notifier.ips.client import IpsSettings
from notifier.runtime.clock import Clock


def renderer(config: Config, catalogs: Catalogs | None = None) -> Renderer:
    """The renderer of `config`'s templates; the HTML part is rendered for messages to an email channel only."""
    emails = [name for name, channel in config.channels.items() if isinstance(channel, EmailChannel)]
    return Renderer(config.templates, catalogs, status_url=config.http.status_url, html_channels=emails)


def ips_settings(config: Config) -> IpsSettings:
    ips = config.ips
    return IpsSettings(
        endpoint=ips.endpoint,
        user=ips.user,
        password=ips.password.get_secret_value(),
        api_version=ips.api_version,
        app_name=ips.app_name,
        app_version=ips.app_version or __version__,
        locale=ips.locale,
        timeout=ips.timeout,
        max_response_bytes=ips.max_response_bytes,
        gzip=ips.gzip,
    )


def poll_settings(config: Config, company: CompanyConfig) -> PollSettings:
    poll = config.poll
    return PollSettings(
        interval=company.interval or poll.interval,
        jitter=poll.jitter,
        max_backoff=poll.max_backoff,
        auth_backoff=poll.auth_backoff,
        unreachable_after=poll.unreachable_after,
        log_retry_polls=poll.log_retry_polls,
        details_limit=poll.details_limit,
        catch_up=poll.catch_up,
        schedules_interval=_first_set(company.schedules_interval, poll.schedules_interval),
        schedule_grace=poll.schedule_grace,
    )


def _first_set(value: float | None, default: float) -> float:
    return default if value is None else value  # 0 is a setting (off), not a missing one


def company_plans(config: Config) -> list[CompanyPlan]:
    """Every configured company, in order, with how it is polled."""
    return [CompanyPlan(c.id, c.locale, c.timezone, poll_settings(config, c)) for c in config.companies]


def retry_settings(config: Config) -> RetrySettings:
    return RetrySettings(max_retry_after=config.delivery.max_retry_after)


def channel_locales(config: Config) -> dict[str, str | None]:
    """Each channel's `locale:` (None: digests there speak their company's)."""
    return {name: channel.locale for name, channel in config.channels.items()}


def build_lanes(config: Config, session: aiohttp.ClientSession, clock: Clock) -> dict[str, Lane]:
    """One lane per configured channel: its implementation and its throttles."""
    lanes = {}
    for name, channel in config.channels.items():
        lanes[name] = Lane(
            channel=build_channel(name, channel, session),
            concurrency=channel.concurrency,
            limiter=RateLimiter(rate=channel.rate_limit, burst=1, clock=clock) if channel.rate_limit else None,
            breaker=CircuitBreaker(threshold=5, cooldown=60.0, clock=clock),
        )
    return lanes


@contextlib.asynccontextmanager
async def ips_session(config: Config) -> AsyncIterator[aiohttp.ClientSession]:
    """The keep-alive session for IPS calls; per-call timeouts are applied by the client."""
    connector = aiohttp.TCPConnector(limit=max(config.poll.concurrency * 2, 16))
    async with aiohttp.ClientSession(connector=connector, auto_decompress=True) as session:
        yield session


@contextlib.asynccontextmanager
async def delivery_session() -> AsyncIterator[aiohttp.ClientSession]:
    """The keep-alive session for webhooks and Slack, apart from IPS polling so neither waits for the other's
    connections; each channel's own concurrency limit bounds what it opens."""
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session
