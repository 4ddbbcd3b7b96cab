"""From a validated channel setting to the code that sends: each config class maps to its implementation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp

from notifier import config
from notifier.channels.base import Channel
from notifier.channels.console import ConsoleSender
from notifier.channels.email import EmailSender
from notifier.channels.pagerduty import PagerDutySender
from notifier.channels.slack import SlackSender
from notifier.channels.teams import TeamsSender
from notifier.channels.webhook import WebhookSender

ChannelFactory = Callable[[str, Any, aiohttp.ClientSession], Channel]
REGISTRY: dict[type, ChannelFactory] = {
    config.ConsoleChannel: lambda name, cfg, _session: ConsoleSender(name, summary=cfg.format == "summary"),
    config.EmailChannel: lambda name, cfg, _session: EmailSender(name, cfg),
    config.SlackChannel: lambda name, cfg, session: SlackSender(name, cfg, session),
    config.WebhookChannel: lambda name, cfg, session: WebhookSender(name, cfg, session),
    config.TeamsChannel: lambda name, cfg, session: TeamsSender(name, cfg, session),
    config.PagerDutyChannel: lambda name, cfg, session: PagerDutySender(name, cfg, session),
}


def build_channel(name: str, settings: config.AnyChannelConfig, session: aiohttp.ClientSession) -> Channel:
    """The channel implementation for one validated config entry; `session` is the shared keep-alive session."""
    factory = REGISTRY.get(type(settings))
    if factory is None:
        raise TypeError(f"channel {name!r}: no implementation for {type(settings).__name__}")
    return factory(name, settings, session)
