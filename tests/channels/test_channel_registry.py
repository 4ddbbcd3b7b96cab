"""`build_channel`: each validated config class maps to its implementation, which satisfies the Channel protocol."""

from __future__ import annotations

import base64
import typing
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, cast

import aiohttp
import pytest
from pydantic import BaseModel

from notifier import config
from notifier.channels.base import Channel
from notifier.channels.console import ConsoleSender
from notifier.channels.email import EmailSender
from notifier.channels.pagerduty import PagerDutySender
from notifier.channels.registry import build_channel
from notifier.channels.slack import SlackSender
from notifier.channels.teams import TeamsSender
from notifier.channels.webhook import WebhookSender

if TYPE_CHECKING:
    from notifier.config import AnyChannelConfig

SECRET = "whsec_" + base64.b64encode(b"registry-test-key").decode()
CONFIGS: dict[str, tuple[dict[str, Any], type[BaseModel], type]] = {
    "console": ({"type": "console"}, config.ConsoleChannel, ConsoleSender),
    "email": (
        {
            "type": "email",
            "host": "127.0.0.1",
            "port": 25,
            "tls": "none",
            "from": "n@example.com",
            "to": ["o@example.com"],
        },
        config.EmailChannel,
        EmailSender,
    ),
    "slack": ({"type": "slack", "token": "xoxb-1", "channel": "#a"}, config.SlackChannel, SlackSender),
    "webhook": (
        {"type": "webhook", "url": "https://hooks.example.com/x", "secrets": [SECRET]},
        config.WebhookChannel,
        WebhookSender,
    ),
    "teams": ({"type": "teams", "webhook_url": "https://example.com/workflows/x"}, config.TeamsChannel, TeamsSender),
    "pagerduty": (
        {"type": "pagerduty", "routing_key": "R0UT1NGK3Yf0rT3st5abcdef01234567"},
        config.PagerDutyChannel,
        PagerDutySender,
    ),
}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.mark.parametrize("kind", sorted(CONFIGS))
async def test_each_config_builds_its_channel(kind: str, session: aiohttp.ClientSession) -> None:
    """Every channel type in the config schema has an implementation named after the config entry."""
    raw, model, implementation = CONFIGS[kind]
    config_object = cast("AnyChannelConfig", model.model_validate(raw))
    channel: Channel = build_channel(f"my-{kind}", config_object, session)
    assert isinstance(channel, implementation)
    assert channel.name == f"my-{kind}"
    await channel.close()


def test_every_channel_type_of_the_config_is_covered() -> None:
    """The table above names every `type:` the config accepts, so a new channel cannot go untested here."""
    members = typing.get_args(typing.get_args(config.AnyChannel)[0])
    assert sorted(m.model_fields["type"].annotation.__args__[0] for m in members) == sorted(CONFIGS)


async def test_unknown_config_type_is_refused(session: aiohttp.ClientSession) -> None:
    """A config object without an implementation is a programming error, reported by name."""
    with pytest.raises(TypeError, match="no implementation"):
        build_channel("odd", object(), session)  # type: ignore[arg-type]
