"""The config file → validated, frozen objects. Every problem is a `file:line: message`, all of them at once.

`load` reads the file, `settings` holds its sections, `channels` the channel settings (validated by pure checks,
never by channel code), `values` what several sections check alike. Relative paths (`rules`, `templates`,
`state`, secret files) are relative to the config file.
"""

from notifier.config.channels import (
    PAGERDUTY_EVENTS_URL,
    AnyChannel,
    AnyChannelConfig,
    ChannelBase,
    ConsoleChannel,
    EmailChannel,
    PagerDutyChannel,
    SlackChannel,
    TeamsChannel,
    WebhookChannel,
)
from notifier.config.load import load_config
from notifier.config.settings import (
    CompanyConfig,
    Config,
    DeliveryConfig,
    HttpConfig,
    IpsConfig,
    LogConfig,
    PollConfig,
)

__all__ = [
    "PAGERDUTY_EVENTS_URL",
    "AnyChannel",
    "AnyChannelConfig",
    "ChannelBase",
    "CompanyConfig",
    "Config",
    "ConsoleChannel",
    "DeliveryConfig",
    "EmailChannel",
    "HttpConfig",
    "IpsConfig",
    "LogConfig",
    "PagerDutyChannel",
    "PollConfig",
    "SlackChannel",
    "TeamsChannel",
    "WebhookChannel",
    "load_config",
]
