"""The config file: interpolation, secret files, validation of every section, and errors as file:line."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest
from pydantic import ValidationError

from notifier.config import Config, EmailChannel, SlackChannel, WebhookChannel, load_config
from notifier.safety.redact import secret_values
from notifier.sources.sourcemap import SourceErrors

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BASE = """\
ips:
  endpoint: https://s7sps1apissl.scene7.com/scene7/services/IpsApiService
  user: ops@example.com
  password: p4ssw0rd
companies:
  - handle: "47"
"""


def write(tmp_path: Path, text: str, name: str = "notifier.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, env: Mapping[str, str] | None = None) -> Config:
    return load_config(write(tmp_path, text), environ=env or {})


def errors(tmp_path: Path, text: str, env: Mapping[str, str] | None = None) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(SourceErrors) as caught:
        load_config(path, environ=env or {})
    return [str(e).removeprefix(f"{path}:") for e in caught.value.errors]


def with_channel(spec: str) -> str:
    return BASE + f"channels:\n  out: {spec}\n"


# ------------------------------------------------------------------------------------------ the basics


def test_minimal_config_gets_the_documented_defaults(tmp_path: Path) -> None:
    """Only ips and companies are required; everything else has the defaults README lists."""
    config = load(tmp_path, BASE)
    assert config.ips.timeout == 30.0
    assert config.ips.api_version == "2014-04-03"
    assert config.ips.gzip is True
    assert (config.poll.interval, config.poll.jitter, config.poll.concurrency) == (30.0, 0.1, 8)
    assert (config.poll.max_backoff, config.poll.auth_backoff, config.poll.unreachable_after) == (300.0, 900.0, 3)
    assert (config.poll.log_retry_polls, config.poll.queue_size, config.poll.details_limit) == (5, 10_000, 20)
    assert config.companies[0].timezone == "UTC"
    assert config.shutdown_grace == 10.0
    assert (config.log.format, config.log.level) == ("auto", "info")
    assert config.http.listen is None
    assert config.channels == {}


def test_config_is_frozen(tmp_path: Path) -> None:
    """The loaded objects cannot be changed by any stage that receives them."""
    config = load(tmp_path, BASE)
    with pytest.raises(ValidationError, match="frozen"):
        config.poll.interval = 1.0


def test_password_is_hidden_in_reprs(tmp_path: Path) -> None:
    """Printing or logging the config object never shows the password."""
    config = load(tmp_path, BASE)
    assert "p4ssw0rd" not in repr(config)
    assert "p4ssw0rd" not in str(config.model_dump())
    assert config.ips.password.get_secret_value() == "p4ssw0rd"


def test_durations_are_parsed_everywhere(tmp_path: Path) -> None:
    """Every duration setting accepts the documented spellings and holds seconds."""
    config = load(
        tmp_path,
        BASE.replace("  password: p4ssw0rd\n", "  password: p4ssw0rd\n  timeout: 500ms\n")
        + "poll: {interval: 1h30m, max_backoff: 1d, auth_backoff: 15m}\nshutdown_grace: 2s\n",
    )
    assert config.ips.timeout == 0.5
    assert (config.poll.interval, config.poll.max_backoff, config.poll.auth_backoff) == (5400.0, 86400.0, 900.0)
    assert config.shutdown_grace == 2.0


def test_bad_duration_is_an_error_at_its_line(tmp_path: Path) -> None:
    """A duration nobody can read is refused where it was written, with the accepted spellings."""
    assert errors(tmp_path, BASE + "poll:\n  interval: 5 minutes\n") == [
        "8: poll.interval: not a duration (use e.g. 500ms, 30s, 15m, 2h, 1h30m, 1d)"
    ]


def test_poll_interval_below_one_second_is_refused(tmp_path: Path) -> None:
    """Polling faster than once a second would hammer IPS; it is refused globally and per company."""
    found = errors(tmp_path, BASE + "    interval: 200ms\npoll:\n  interval: 500ms\n")
    assert found == [
        "7: companies.0.interval: poll interval must be at least 1s",
        "9: poll.interval: poll interval must be at least 1s",
    ]


def test_schedules_are_watched_every_five_minutes_unless_turned_off(tmp_path: Path) -> None:
    """getScheduledJobs every 5 minutes with a 10 minute grace by default; 0 turns schedules off, per company too,
    and anything between 0 and 1 s is refused like a poll interval."""
    config = load(tmp_path, BASE + '    schedules_interval: 0\n  - handle: "48"\n')
    assert (config.poll.schedules_interval, config.poll.schedule_grace) == (300.0, 600.0)
    assert [c.schedules_interval for c in config.companies] == [0.0, None]
    found = errors(
        tmp_path, BASE + "    schedules_interval: 500ms\npoll:\n  schedules_interval: 0.2s\n  schedule_grace: 10s\n"
    )
    assert found == [
        "7: companies.0.schedules_interval: give 0 (off) or at least 1s",
        "9: poll.schedules_interval: give 0 (off) or at least 1s",
        "10: poll.schedule_grace: must be at least 60s",
    ]


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    """A file holding a list (or nothing) says what was expected."""
    assert errors(tmp_path, "- ips\n") == ["1: expected a mapping of settings (ips:, companies:, …)"]


def test_missing_sections_are_named(tmp_path: Path) -> None:
    """Required sections and keys that are absent are each named."""
    assert sorted(errors(tmp_path, "ips:\n  user: u\n")) == [
        "1: ips: missing required key 'endpoint'",
        "1: ips: missing required key 'password'",
        "1: missing required key 'companies'",
    ]


def test_no_companies_is_an_error(tmp_path: Path) -> None:
    """An empty company list would poll nothing; it is refused with what to write instead."""
    empty = BASE.replace('  - handle: "47"\n', "")
    expected = ["5: companies: list at least one company (handle: or name:)"]
    assert errors(tmp_path, empty) == expected
    assert errors(tmp_path, empty.replace("companies:", "companies: []")) == expected


# --------------------------------------------------------------------------------------- interpolation


def test_environment_variables_fill_values(tmp_path: Path) -> None:
    """`${NAME}` anywhere inside a value is replaced by the variable's text."""
    config = load(
        tmp_path,
        BASE.replace("ops@example.com", "${IPS_USER}").replace("p4ssw0rd", "pre-${IPS_PASSWORD}-post"),
        env={"IPS_USER": "robot@example.com", "IPS_PASSWORD": "s3cret"},
    )
    assert config.ips.user == "robot@example.com"
    assert config.ips.password.get_secret_value() == "pre-s3cret-post"


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, "fallback"), ({"IPS_USER": ""}, "fallback"), ({"IPS_USER": "given"}, "given")],
)
def test_default_applies_when_unset_or_empty(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    """`${NAME:-default}` uses the default when the variable is unset or empty, as a shell does."""
    config = load(tmp_path, BASE.replace("ops@example.com", "${IPS_USER:-fallback}"), env=env)
    assert config.ips.user == expected


def test_double_dollar_is_a_literal(tmp_path: Path) -> None:
    """`$${` writes a literal `${` (a password may contain one) and is not looked up."""
    config = load(tmp_path, BASE.replace("p4ssw0rd", "'a$${HOME}b'"))
    assert config.ips.password.get_secret_value() == "a${HOME}b"


@pytest.mark.parametrize("hostile", ["x # not a comment", "a: b", "line1\nuser: intruder\n- item", "{x: 1}", "*ref"])
def test_substituted_text_cannot_change_the_structure(tmp_path: Path, hostile: str) -> None:
    """Whatever a variable contains (`#`, `: `, newlines, flow syntax) lands verbatim in that one value."""
    config = load(tmp_path, BASE.replace("p4ssw0rd", "${IPS_PASSWORD}"), env={"IPS_PASSWORD": hostile})
    assert config.ips.password.get_secret_value() == hostile
    assert config.ips.user == "ops@example.com"


def test_keys_are_never_interpolated(tmp_path: Path) -> None:
    """Only values are interpolated: a `${…}` key stays as written and is an unknown key."""
    assert errors(tmp_path, BASE + "${SECTION}: 1\n", env={"SECTION": "poll"}) == ["7: unknown key '${SECTION}'"]


def test_substituted_numbers_and_booleans_are_validated(tmp_path: Path) -> None:
    """A variable holding a number or a boolean becomes one where the setting expects it."""
    config = load(
        tmp_path,
        BASE + "poll: {concurrency: '${CONCURRENCY}'}\n",
        env={"CONCURRENCY": "16"},
    )
    assert config.poll.concurrency == 16


def test_unset_variable_is_an_error_at_its_line_without_follow_ups(tmp_path: Path) -> None:
    """An unset variable is one error naming it, and its empty placeholder adds no second error."""
    assert errors(tmp_path, BASE.replace("p4ssw0rd", "${IPS_PASSWORD}")) == [
        "4: environment variable IPS_PASSWORD is not set"
    ]


# ---------------------------------------------------------------------------------------- secret files


def test_secret_file_is_read_relative_to_the_config_file(tmp_path: Path) -> None:
    """`password_file` is read from beside the config (not the working directory), trailing newline dropped."""
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "ips").write_text("from-a-file\n", encoding="utf-8")
    config = load(tmp_path, BASE.replace("password: p4ssw0rd", "password_file: secrets/ips"))
    assert config.ips.password.get_secret_value() == "from-a-file"


def test_every_secret_key_can_come_from_a_file(tmp_path: Path) -> None:
    """token_file, webhook_url_file, secret_file and an email password_file work like password_file."""
    files = {"token": "xoxb-1-2", "hook": "https://hooks.slack.com/x", "whsec": SECRET, "smtp": "pw"}
    for name, value in files.items():
        (tmp_path / name).write_text(value + "\r\n", encoding="utf-8")
    config = load(
        tmp_path,
        BASE
        + "channels:\n"
        + "  bot: {type: slack, token_file: token, channel: '#ops'}\n"
        + "  hook: {type: slack, webhook_url_file: hook}\n"
        + "  down: {type: webhook, url: 'https://h.example.com/', secret_file: whsec}\n"
        + "  mail: {type: email, host: smtp.example.com, from: a@example.com, username: u, password_file: smtp}\n",
    )
    bot, hook, down, mail = (config.channels[n] for n in ("bot", "hook", "down", "mail"))
    read = [
        getattr(channel, key).get_secret_value()
        for channel, key in ((bot, "token"), (hook, "webhook_url"), (down, "secret"), (mail, "password"))
    ]
    assert read == list(files.values())


def test_unreadable_secret_file_is_an_error_at_its_key(tmp_path: Path) -> None:
    """A secret file that cannot be read is an error at the `_file` key's line, naming the file."""
    assert errors(tmp_path, BASE.replace("password: p4ssw0rd", "password_file: /nonexistent/ips")) == [
        "4: cannot read secret file /nonexistent/ips: No such file or directory"
    ]


def test_secret_and_secret_file_together_are_an_error(tmp_path: Path) -> None:
    """Giving both `password` and `password_file` is ambiguous and refused."""
    (tmp_path / "pw").write_text("x", encoding="utf-8")
    found = errors(tmp_path, BASE.replace("  password: p4ssw0rd\n", "  password: p4ssw0rd\n  password_file: pw\n"))
    assert found == ["5: give password or password_file, not both"]


def test_empty_secret_file_is_an_error(tmp_path: Path) -> None:
    """An empty secret file (a mount that went wrong) is not an empty password."""
    (tmp_path / "pw").write_text("\n", encoding="utf-8")
    assert errors(tmp_path, BASE.replace("password: p4ssw0rd", "password_file: pw")) == ["4: ips.password: is empty"]


# ------------------------------------------------------------------------------------ keys and syntax


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("compnies: []\n", "7: unknown key 'compnies' (did you mean 'companies'?)"),
        ("poll:\n  intervall: 30s\n", "8: poll: unknown key 'intervall' (did you mean 'interval'?)"),
        ("http:\n  listen: 127.0.0.1:1\n  lisen: x\n", "9: http: unknown key 'lisen' (did you mean 'listen'?)"),
        (
            "channels:\n  s: {type: slack, token: t, chanel: '#a', channel: '#a'}\n",
            "8: channels.s: unknown key 'chanel' (did you mean 'channel'?)",
        ),
        ("source: x.yaml\n", "7: unknown key 'source'"),
    ],
)
def test_unknown_keys_are_errors_with_a_suggestion(tmp_path: Path, extra: str, expected: str) -> None:
    """A typo anywhere is an error at its line, with the closest key of that section suggested."""
    assert errors(tmp_path, BASE + extra) == [expected]


def test_unknown_key_in_a_company_suggests_the_right_one(tmp_path: Path) -> None:
    """Keys inside list items are checked and suggested too."""
    assert errors(tmp_path, BASE + "    timezon: Europe/Paris\n") == [
        "7: companies.0: unknown key 'timezon' (did you mean 'timezone'?)"
    ]


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    """A key written twice is refused at the repeat instead of the last one silently winning."""
    assert errors(tmp_path, BASE + "poll: {interval: 1m}\npoll: {interval: 2m}\n") == ["8: duplicate key 'poll'"]


def test_on_is_a_key_not_a_boolean(tmp_path: Path) -> None:
    """Under YAML 1.2 `on:` is the text "on", so it is reported as an unknown key by that name."""
    assert errors(tmp_path, BASE + "on: yes\n") == ["7: unknown key 'on'"]


def test_numeric_handle_becomes_text_without_octal_surprises(tmp_path: Path) -> None:
    """`handle: 47` and `handle: 0047` are the handle "47", never a number or octal 39."""
    config = load(tmp_path, BASE.replace('handle: "47"', "handle: 0047"))
    assert config.companies[0].handle == "47"


def test_every_error_is_reported_at_once_in_line_order(tmp_path: Path) -> None:
    """Problems in different sections are all reported in one run, sorted by line."""
    found = errors(
        tmp_path,
        BASE.replace("p4ssw0rd", "${MISSING}")
        + "poll:\n  interval: soon\n  jitter: 2\ncompanies2: []\nhttp: {listen: nowhere}\n",
    )
    assert [e.split(":", 1)[0] for e in found] == ["4", "8", "9", "10", "11"]


# ------------------------------------------------------------------------------------- no secret echoed


def test_no_secret_value_is_ever_echoed(tmp_path: Path) -> None:
    """Errors about secret values, or values that came from the environment or a secret file, never show them."""
    marker = "Tr0ub4dor-3-SECRET"
    (tmp_path / "token").write_text(f"{marker}-file", encoding="utf-8")
    env = {"LEAK": marker, "LEAK_URL": f"ftp://{marker}"}
    text = (
        BASE.replace("ops@example.com", "${LEAK}")
        + "    timezone: ${LEAK}\n"
        + "poll: {interval: '${LEAK}', concurrency: '${LEAK}'}\n"
        + "http: {listen: '${LEAK}'}\n"
        + "channels:\n"
        + f"  a: {{type: slack, token: {marker}, webhook_url: '${{LEAK_URL}}'}}\n"
        + "  b: {type: slack, webhook_url: '${LEAK_URL}'}\n"
        + f"  c: {{type: webhook, url: 'https://h.example.com/', secret: 'whsec_{marker}!'}}\n"
        + "  d: {type: email, host: h, from: '${LEAK}', to: ['${LEAK}']}\n"
        + "  e: {type: slack, token_file: token, channel: 3, api_url: '${LEAK}'}\n"
        + "  f: {type: '${LEAK}'}\n"
    )
    found = errors(tmp_path, text, env=env)
    assert len(found) >= 10
    assert not [e for e in found if marker in e]


# ----------------------------------------------------------------------------------------- channels


@pytest.mark.parametrize(
    "spec",
    [
        "{type: slack, token: xoxb-1, channel: '#dmc-alerts'}",
        "{type: slack, webhook_url: 'https://hooks.slack.com/services/T/B/x'}",
        "{type: slack, token: xoxb-1, channel: C123, api_url: 'http://127.0.0.1:9/api/'}",
    ],
)
def test_slack_accepts_a_bot_token_or_a_webhook(tmp_path: Path, spec: str) -> None:
    """Slack is either token + channel (chat.postMessage) or an incoming webhook URL."""
    assert isinstance(load(tmp_path, with_channel(spec)).channels["out"], SlackChannel)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{type: slack, token: xoxb-1, channel: '#a', webhook_url: 'https://h/x'}", "not both"),
        ("{type: slack, token: xoxb-1}", "give token + channel"),
        ("{type: slack, channel: '#a'}", "give token + channel"),
        ("{type: slack}", "give token + channel"),
        ("{type: slack, webhook_url: 'hooks.slack.com/x'}", "must be an http:// or https:// URL"),
        ("{type: slack, token: '', channel: '#a'}", "is empty"),
    ],
)
def test_slack_needs_exactly_one_way_in(tmp_path: Path, spec: str, message: str) -> None:
    """Token and webhook together, neither, a token without a channel or a non-HTTP webhook are refused."""
    (found,) = errors(tmp_path, with_channel(spec))
    assert found.startswith("8: channels.out")
    assert message in found


def test_email_defaults_to_starttls_on_587(tmp_path: Path) -> None:
    """Without tls or port, email uses STARTTLS on port 587."""
    channel = load(tmp_path, with_channel("{type: email, host: smtp.example.com, from: a@example.com}")).channels
    assert isinstance(channel["out"], EmailChannel)
    assert (channel["out"].tls, channel["out"].port, channel["out"].to) == ("starttls", 587, ())


@pytest.mark.parametrize(
    ("fields", "tls", "port"),
    [
        ("tls: implicit", "implicit", 465),
        ("tls: none", "none", 25),
        ("tls: starttls, port: 2525", "starttls", 2525),
        ("starttls: true", "starttls", 587),
        ("starttls: false", "none", 25),
    ],
)
def test_email_tls_modes_and_their_ports(tmp_path: Path, fields: str, tls: str, port: int) -> None:
    """Each TLS mode has its usual port; `starttls: true|false` is the short spelling of tls."""
    spec = f"{{type: email, host: smtp.example.com, from: 'Ops <a@example.com>', to: [b@example.com], {fields}}}"
    channel = load(tmp_path, with_channel(spec)).channels["out"]
    assert isinstance(channel, EmailChannel)
    assert (channel.tls, channel.port, channel.sender, channel.to) == (
        tls,
        port,
        "Ops <a@example.com>",
        ("b@example.com",),
    )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("from: not-an-address", "8: channels.out.from: email 'from' is not a valid address"),
        ("from: a@example.com, starttls: yes", "8: channels.out: starttls must be true or false"),
        ("from: a@example.com, starttls: true, tls: none", "8: channels.out: give tls or starttls, not both"),
        ("from: a@example.com, tls: ssl", "8: channels.out.tls: must be one of: starttls, implicit, none"),
        ("from: a@example.com, username: u", "8: channels.out: give username and password together"),
        ("from: a@example.com, password: p", "8: channels.out: give username and password together"),
        ("from: a@example.com, port: 70000", "8: channels.out.port: must be at most 65535"),
        ("to: [a@example.com]", "8: channels.out: missing required key 'from'"),
    ],
)
def test_email_settings_are_checked(tmp_path: Path, fields: str, expected: str) -> None:
    """Sender, TLS spelling, credentials in pairs and the port range are validated at load time."""
    assert errors(tmp_path, with_channel(f"{{type: email, host: smtp.example.com, {fields}}}")) == [expected]


def test_each_bad_recipient_is_reported_at_its_own_line(tmp_path: Path) -> None:
    """A recipient that is not an address is an error at its item's line."""
    text = BASE + "channels:\n  out:\n    type: email\n    host: h\n    from: a@example.com\n    to:\n"
    text += "      - ok@example.com\n      - 'x@y.com\\r\\nBcc: evil@example.com'\n"
    assert errors(tmp_path, text) == ["14: channels.out.to.1: not an email address"]


def test_webhook_accepts_whsec_secrets_and_rotation(tmp_path: Path) -> None:
    """A webhook is signed with a whsec_ secret; several under `secrets:` rotate keys."""
    spec = f"{{type: webhook, url: 'https://h.example.com/dmc', secrets: [{SECRET}, whsec_c2Vjb25k], timeout: 5s}}"
    channel = load(tmp_path, with_channel(spec)).channels["out"]
    assert isinstance(channel, WebhookChannel)
    assert [s.get_secret_value() for s in channel.secrets] == [SECRET, "whsec_c2Vjb25k"]
    assert channel.timeout == 5.0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("url: 'https://h.example.com/'", "give a signing secret"),
        ("url: 'https://h.example.com/', secret: 'whsec_***not base64'", "not whsec_ followed by base64"),
        ("url: 'https://h.example.com/', secret: whsec_", "webhook secret is empty"),
        (f"url: 'ftp://h.example.com/', secret: {SECRET}", "must be an http:// or https:// URL"),
        (f"url: 'https://h.example.com/', secret: {SECRET}, headers: {{Webhook-Signature: x}}", "webhook-signature"),
        (f"url: 'https://h.example.com/', secret: {SECRET}, headers: {{webhook-id: x}}", "may not set webhook-id"),
    ],
)
def test_webhook_settings_are_checked(tmp_path: Path, fields: str, message: str) -> None:
    """Secrets must be whsec_ base64, URLs HTTP(S), and the signing headers cannot be overridden."""
    (found,) = errors(tmp_path, with_channel(f"{{type: webhook, {fields}}}"))
    assert found.startswith("8: channels.out")
    assert message in found


def test_webhook_extra_headers_are_kept(tmp_path: Path) -> None:
    """Headers other than the signing ones are sent as configured."""
    spec = f"{{type: webhook, url: 'https://h.example.com/', secret: {SECRET}, headers: {{X-Env: prod}}}}"
    channel = load(tmp_path, with_channel(spec)).channels["out"]
    assert isinstance(channel, WebhookChannel)
    assert channel.headers == {"X-Env": "prod"}


def test_unknown_channel_type_suggests_the_closest(tmp_path: Path) -> None:
    """A misspelt channel type names the closest known type."""
    assert errors(tmp_path, with_channel("{type: webhok}")) == [
        "8: channels.out: unknown type 'webhok' (did you mean 'webhook'?)"
    ]


def test_channel_without_type_is_named(tmp_path: Path) -> None:
    """A channel without `type:` is reported as missing exactly that."""
    assert errors(tmp_path, with_channel("{url: 'https://h/'}")) == ["8: channels.out: missing required key 'type'"]


def test_channel_names_are_restricted(tmp_path: Path) -> None:
    """Channel names are identifiers rules refer to; spaces and punctuation are refused at the name's line."""
    assert errors(tmp_path, BASE + "channels:\n  'ops slack': {type: console}\n") == [
        "8: channels.ops slack: channel name 'ops slack' may use only letters, digits, '_', '.' and '-'"
    ]


# ------------------------------------------------------------------------------- http, zones, companies


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [("127.0.0.1:9464", "127.0.0.1", 9464), ("'[::1]:8080'", "::1", 8080), ("'127.0.0.2:0'", "127.0.0.2", 0)],
)
def test_http_listen_is_host_and_port(tmp_path: Path, listen: str, host: str, port: int) -> None:
    """`http.listen` is HOST:PORT (IPv6 in brackets)."""
    config = load(tmp_path, BASE + f"http:\n  listen: {listen}\n")
    assert (config.http.host, config.http.port) == (host, port)


@pytest.mark.parametrize("listen", ["localhost", "127.0.0.1:", ":9464", "127.0.0.1:http", "127.0.0.1:70000"])
def test_http_listen_without_a_valid_port_is_refused(tmp_path: Path, listen: str) -> None:
    """A listen address without a host or with a bad port is an error at its line."""
    assert errors(tmp_path, BASE + f"http:\n  listen: '{listen}'\n") == [
        "8: http.listen: listen must be HOST:PORT, e.g. 127.0.0.1:9464"
    ]


def test_time_zones_must_be_iana_names(tmp_path: Path) -> None:
    """A company's time zone must be a real IANA zone; the default is UTC."""
    config = load(tmp_path, BASE + "    timezone: Asia/Tokyo\n  - name: Planetary\n")
    assert [c.timezone for c in config.companies] == ["Asia/Tokyo", "UTC"]
    assert errors(tmp_path, BASE + "    timezone: Mars/Olympus\n") == [
        "7: companies.0.timezone: unknown time zone 'Mars/Olympus' (use an IANA name such as Europe/Berlin)"
    ]


@pytest.mark.parametrize(("zone", "meant"), [("Europe/Paaris", "Europe/Paris"), ("europe/berlin", "Europe/Berlin")])
def test_a_misspelt_time_zone_comes_with_the_name_meant(tmp_path: Path, zone: str, meant: str) -> None:
    """A near miss or a wrong case of an IANA name is answered with the real name."""
    assert errors(tmp_path, BASE + f"    timezone: {zone}\n") == [
        f"7: companies.0.timezone: unknown time zone {zone!r} (did you mean {meant!r}?)"
    ]


@pytest.mark.parametrize("tag", ["ja-JP", "ja_JP", "pt", "zh-Hant-TW", "nb-NO", "es-419", "en-GB"])
def test_locale_tags_are_accepted_as_written(tmp_path: Path, tag: str) -> None:
    """Any tag whose language CLDR knows is a locale, whatever its case, separator, script or region."""
    assert load(tmp_path, BASE + f"    locale: {tag}\n").companies[0].locale == tag


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        ("english", " (did you mean 'en-US'?)"),
        ("Deutsch", " (did you mean 'de-DE'?)"),
        ("日本語", " (did you mean 'ja-JP'?)"),
        ("japanese please", ""),
        ("xx-YY", ""),
    ],
)
def test_a_locale_that_is_not_a_tag_is_said_plainly(tmp_path: Path, written: str, hint: str) -> None:
    """A language written by name gets the tag it means; no validator pattern is shown to the user."""
    assert errors(tmp_path, BASE + f"    locale: {written}\n") == [
        f"7: companies.0.locale: {written!r} is not a locale tag such as en-US, de-DE or ja-JP{hint}"
    ]


def test_a_list_written_as_one_value_says_how_to_write_the_list(tmp_path: Path) -> None:
    """`to: ops@example.com` is answered with the list syntax, not "Input should be a valid tuple"."""
    channel = "{type: email, host: smtp.example.com, from: a@example.com, to: ops@example.com}"
    assert errors(tmp_path, with_channel(channel)) == [
        "8: channels.out.to: must be a list: write `to: [item, …]`, or `to: [item]` for a single one"
    ]


def test_a_choice_outside_its_set_names_the_choices_and_the_likely_one(tmp_path: Path) -> None:
    """`format: jsn` lists json, console and auto and suggests json."""
    assert errors(tmp_path, BASE + "log: {format: jsn}\n") == [
        "7: log.format: must be one of: json, console, auto (did you mean 'json'?)"
    ]


def test_company_needs_a_handle_or_a_name(tmp_path: Path) -> None:
    """A company entry with neither handle nor name cannot be polled."""
    assert errors(tmp_path, BASE + "  - locale: en-US\n") == ["7: companies.1: give the company's handle or its name"]


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ('  - handle: 47\n  - handle: "47"\n', ["7: company '47' is listed twice (also on line 6)"]),
        ("  - name: Planetary\n  - name: Planetary\n", ["7: company 'Planetary' is listed twice (also on line 6)"]),
    ],
)
def test_duplicate_companies_are_reported_at_the_repeat(tmp_path: Path, entries: str, expected: list[str]) -> None:
    """The same handle (47 and "47" alike) or name listed twice is an error at the second entry."""
    assert errors(tmp_path, BASE.replace('  - handle: "47"\n', entries)) == expected


def test_duplicate_companies_are_reported_alongside_other_errors(tmp_path: Path) -> None:
    """A duplicate company is found even when other sections fail validation in the same run."""
    found = errors(tmp_path, BASE + '  - handle: "47"\npoll: {interval: soon}\n')
    assert found == [
        "7: company '47' is listed twice (also on line 6)",
        "8: poll.interval: not a duration (use e.g. 500ms, 30s, 15m, 2h, 1h30m, 1d)",
    ]


def test_same_name_and_handle_entries_are_distinct(tmp_path: Path) -> None:
    """A handle and a name are different keys; which company a name resolves to is known only at run time."""
    config = load(tmp_path, BASE + "  - name: Planetary\n")
    assert [c.label for c in config.companies] == ["47", "Planetary"]


# ------------------------------------------------------------------------------------- paths and state


def test_state_is_relative_to_the_config_file(tmp_path: Path) -> None:
    """The default state database lives beside the config file, whatever the working directory."""
    config = load(tmp_path, BASE)
    assert config.state_location.path == tmp_path.resolve() / "notifier-state.db"


@pytest.mark.parametrize(
    ("state", "expected"),
    [("sqlite:///data/s.db", "data/s.db"), ("sqlite:////var/lib/n.db", "/var/lib/n.db"), ("plain.db", "plain.db")],
)
def test_state_urls(tmp_path: Path, state: str, expected: str) -> None:
    """sqlite:///relative, sqlite:////absolute and a bare path all name a SQLite file."""
    (tmp_path / "data").mkdir()
    config = load(tmp_path, BASE + f"state: {state}\n")
    assert config.state_location.path == tmp_path.resolve() / expected
    assert config.state == f"sqlite:///{config.state_location.path}"


@pytest.mark.parametrize(
    "state",
    ["mysql://u:pw@x/y", "sqlite:///", "postgresql://u:pw@db", "postgresql://u:pw@db:port/n",
     "postgres://u:pw@db/n?sslmode=sometimes"],
)  # fmt: skip
def test_unsupported_state_urls_are_refused(tmp_path: Path, state: str) -> None:
    """Other databases, an empty file name, a database URL without a database, with a port that is not a
    number or an unknown sslmode are errors at the line of `state:`, never showing the password."""
    (found,) = errors(tmp_path, BASE + f"state: '{state}'\n")
    assert found.startswith("7: state: ")
    assert "pw" not in found


def test_a_postgresql_state_with_its_password_beside_it(tmp_path: Path) -> None:
    """`postgres://` means `postgresql://`; the password may come from `state_password_file`, and the cluster's
    lease is a duration."""
    (tmp_path / "pw").write_text("s3cret-pass\n", encoding="utf-8")
    text = BASE + "state: postgres://notifier@db:5432/notifier?sslmode=verify-full\nstate_password_file: pw\n"
    config = load(tmp_path, text + "cluster: {lease: 30s}\n")
    location = config.state_location
    assert (location.scheme, location.url, location.password) == (
        "postgresql", "postgresql://notifier@db:5432/notifier?sslmode=verify-full", "s3cret-pass"
    )  # fmt: skip
    assert location.shared
    assert config.cluster.lease == 30.0
    assert "s3cret-pass" not in repr(location)
    assert "s3cret-pass" in secret_values(config)  # redacted from logs, pages and errors like every secret


def test_a_password_inside_the_database_url_is_a_secret(tmp_path: Path) -> None:
    """`postgresql://user:${DB_PASSWORD}@…`: the password the variable gave is one of the config's secrets."""
    text = BASE + "state: postgresql://notifier:${DB_PASSWORD}@db/notifier\n"
    config = load(tmp_path, text, {"DB_PASSWORD": "from-the-environment"})
    assert "from-the-environment" in secret_values(config)


def test_a_state_password_needs_a_database_and_only_one_password(tmp_path: Path) -> None:
    """`state_password` beside a SQLite file, or beside a URL that has a password already, is an error."""
    (tmp_path / "pw").write_text("s3cret-pass", encoding="utf-8")
    [beside_a_file] = errors(tmp_path, BASE + "state_password_file: pw\n")
    assert "postgresql:// state only" in beside_a_file
    [twice] = errors(tmp_path, BASE + "state: postgresql://u:other-pw@db/n\nstate_password_file: pw\n")
    assert "not both" in twice
    assert "other-pw" not in twice
    assert "s3cret-pass" not in twice


def test_rules_and_templates_are_relative_to_the_config_file(tmp_path: Path) -> None:
    """`rules:` and `templates:` are resolved from the config file's directory."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "tpl").mkdir()
    config = load(tmp_path, BASE + "rules: rules/\ntemplates: tpl\n")
    assert config.rules == tmp_path.resolve() / "rules"
    assert config.templates == tmp_path.resolve() / "tpl"


def test_absolute_rules_path_is_kept(tmp_path: Path) -> None:
    """An absolute `rules:` path is used as written."""
    rules = tmp_path / "elsewhere.yaml"
    rules.write_text("[]\n", encoding="utf-8")
    sub = tmp_path / "etc"
    sub.mkdir()
    assert load(sub, BASE + f"rules: {rules}\n").rules == rules


def test_missing_rules_or_templates_are_errors_at_their_lines(tmp_path: Path) -> None:
    """A `rules:` or `templates:` path that does not exist is an error at the line that names it."""
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    found = errors(tmp_path, BASE + "rules: rulez/\ntemplates: file.txt\n")
    assert found == [
        f"7: rules: {tmp_path.resolve() / 'rulez'} does not exist",
        f"8: templates: {tmp_path.resolve() / 'file.txt'} is not a directory",
    ]


# ------------------------------------------------------------------------------------------ examples


def test_simulator_example_loads() -> None:
    """examples/simulator.yaml (README's quick start) is a valid config."""
    config = load_config(EXAMPLES / "simulator.yaml", environ={})
    assert [c.label for c in config.companies] == ["47", "Nordwind Moden", "203", "311", "512"]


HAMMER_BASE = 'ips: {endpoint: "https://ips.example.com/x", user: u, password: p, IPS}\ncompanies: [{handle: "47"}]\n'


@pytest.mark.parametrize(
    ("ips", "poll", "message"),
    [
        ("", "poll: {auth_backoff: 0s}", "auth_backoff must be at least 1m"),
        ("timeout: 0s", "", "timeout: must be more than 0s"),
        ("", "poll: {max_backoff: 0s}", "max_backoff: must be at least 1s"),
    ],
)
def test_settings_that_would_hammer_ips_are_refused(tmp_path: Path, ips: str, poll: str, message: str) -> None:
    """No back-off, no wait for a bad password, no timeout: each would hammer the IPS API, so each is an error."""
    path = tmp_path / "notifier.yaml"
    path.write_text(HAMMER_BASE.replace(", IPS", f", {ips}" if ips else "") + poll + "\n", encoding="utf-8")
    with pytest.raises(SourceErrors) as caught:
        load_config(path)
    assert any(message in e.message for e in caught.value.errors), caught.value.errors
