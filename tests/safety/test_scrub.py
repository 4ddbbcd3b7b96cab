"""The one scrubber: every spelling of every configured secret redacted, unsafe characters neutralized, caps."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from notifier.config import load_config
from notifier.models import ActiveJob, Message
from notifier.safety import FIELD, TEXT, Scrubber
from notifier.safety.redact import Redactor, secret_values, url_secrets
from notifier.safety.scrub import neutralize
from tests.support.channels import sample_notification

SECRET = 'pa&ss<w"o rd/ü'


@pytest.mark.parametrize(
    "echo",
    [
        SECRET,
        "pa&amp;ss&lt;w&quot;o rd/ü",  # quoted by a server inside XML or HTML
        'pa&amp;ss&lt;w"o rd/ü',
        quote(SECRET, safe=""),  # echoed inside a URL
        quote_plus(SECRET, safe=""),
        json.dumps(SECRET)[1:-1],  # echoed inside JSON
        json.dumps(SECRET, ensure_ascii=False)[1:-1],
    ],
)
def test_every_spelling_of_a_secret_is_redacted(echo: str) -> None:
    """Whatever escaping an echo went through, the secret in it is replaced by ***."""
    assert Redactor([SECRET]).text(f"refused <{echo}> for you") == "refused <***> for you"


def test_a_secret_containing_another_is_replaced_whole() -> None:
    """The longer secret goes first, so no half of it is left readable."""
    assert Redactor(["abcd", "abcdefgh"]).text("x abcdefgh y abcd") == "x *** y ***"


def test_parts_of_secrets_are_secrets_too() -> None:
    """A webhook signing key after `whsec_`, a Slack webhook URL's path and a URL's password are redacted alone."""
    redactor = Redactor(["whsec_c2VjcmV0LWtleQ==", "https://hooks.slack.com/services/T0/B0/SeCrEt"])
    assert redactor.text("key c2VjcmV0LWtleQ== at /services/T0/B0/SeCrEt") == "key *** at ***"


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        ("https://bob:hunter2hunter@hooks.example.com/x", ["hunter2hunter", "bob:hunter2hunter"]),
        ("https://hooks.example.com/x?token=abcdefgh12&n=1", ["abcdefgh12"]),
        ("postgresql://notifier:db-Pa55word@db.example.com/notifier", ["db-Pa55word", "notifier:db-Pa55word"]),
        ("https://hooks.example.com/plain", []),
    ],
)
def test_credentials_inside_urls_are_secrets(url: str, secrets: list[str]) -> None:
    """A password in `user:password@`, and query values long enough to be tokens; a plain URL has none."""
    assert url_secrets(url) == secrets


def test_every_secret_of_a_config_is_found(tmp_path: Path) -> None:
    """IPS and SMTP passwords, Slack tokens and webhook URLs, webhook secrets, `*_file` secrets, credentials in
    a webhook URL and extra header values are all redacted once the config is known."""
    (tmp_path / "smtp").write_text("smtp-Pa55-file\n", encoding="utf-8")
    path = tmp_path / "notifier.yaml"
    path.write_text(
        """
ips: {endpoint: "https://ips.example.com/s", user: u@example.com, password: ips-Pa55}
companies: [{handle: "47"}]
channels:
  bot: {type: slack, token: xoxb-SeCrEt, channel: "#ops"}
  hook: {type: slack, webhook_url: "https://hooks.slack.com/services/T0/B0/HoOk"}
  mail: {type: email, host: h, username: u, password_file: smtp, from: a@example.com}
  down: {type: webhook, url: "https://ops:url-Pa55@h.example.com/in", secret: "whsec_c2VjcmV0LWtleQ==",
         headers: {Authorization: "Bearer header-token"}}
""",
        encoding="utf-8",
    )
    found = set(secret_values(load_config(path)))
    assert found >= {
        "ips-Pa55",
        "xoxb-SeCrEt",
        "https://hooks.slack.com/services/T0/B0/HoOk",
        "smtp-Pa55-file",
        "url-Pa55",
        "whsec_c2VjcmV0LWtleQ==",
        "Bearer header-token",
    }


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("red \x1b[31mALERT\x1b[0m", "red \ufffd[31mALERT\ufffd[0m"),  # a terminal escape
        ("line\roverwritten", "line\ufffdoverwritten"),
        ("C1 \x9b2J and DEL \x7f", "C1 \ufffd2J and DEL \ufffd"),
        ("evil\u202egnp.exe", "evil\ufffdgnp.exe"),  # a right-to-left override
        ("\u2066isolated\u2069", "\ufffdisolated\ufffd"),
        ("two\nlines\twith a tab", "two\nlines\twith a tab"),
        ("Lumière\u00a0Maison — 夏季户外 שלום", "Lumière\u00a0Maison — 夏季户外 שלום"),  # ordinary text stays
    ],
)
def test_unsafe_characters_become_a_replacement_mark(text: str, clean: str) -> None:
    """Controls other than line feed and tab, DEL, C1 controls and bidi overrides are neutralized; text stays."""
    assert neutralize(text, FIELD) == clean


def test_long_text_is_cut_at_its_cap() -> None:
    """A value longer than its cap ends in … exactly at the cap; shorter ones are untouched."""
    assert neutralize("x" * 2000, 10) == "x" * 9 + "…"
    assert neutralize("x" * 10, 10) == "x" * 10


def test_a_secret_is_redacted_before_the_cap_can_cut_it() -> None:
    """A secret straddling the cap is redacted whole, never left half readable."""
    scrubber = Scrubber()
    scrubber.redactor.update(["supersecret"])
    assert scrubber.text("x" * 8 + "supersecret", 12) == "x" * 8 + "***"


def test_frozen_dataclasses_are_rebuilt_only_where_something_changed() -> None:
    """A clean job comes back as the same object; a dirty one as a copy with only its dirty fields changed."""
    scrub = Scrubber()
    clean = ActiveJob(job_handle="47||a", name="Spring")
    assert scrub(clean) is clean
    dirty = replace(clean, name="Spring\x1b[2J" + "y" * 5000)
    scrubbed = scrub(dirty)
    assert scrubbed.job_handle == "47||a"
    assert scrubbed.name is not None
    assert scrubbed.name.startswith("Spring\ufffd[2J")
    assert len(scrubbed.name) == FIELD


def test_a_notification_is_capped_part_by_part() -> None:
    """A megabyte job name stays a megabyte nowhere: fields at FIELD, the message's text and HTML at TEXT."""
    huge = "n" * 1_000_000
    link = (("Open status page", "https://status.example.com/status"),)
    message = Message("en-US", f"Job {huge} failed", huge, f"<p>{huge}</p>", (("Job", huge),), huge, link)
    notification = sample_notification(message=message, job={"name": huge, "progress": 40})
    scrubbed = Scrubber().notification(notification)
    assert scrubbed.job is not None
    assert (
        len(scrubbed.message.title)
        == len(scrubbed.message.fields[0][1])
        == len(scrubbed.job.get("name") or "")
        == FIELD
    )
    assert len(scrubbed.message.text) == len(scrubbed.message.html or "") == len(scrubbed.message.summary or "") == TEXT
    assert scrubbed.job["progress"] == 40
    assert scrubbed.message.links == link
    assert scrubbed.key == notification.key
