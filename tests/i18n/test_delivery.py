"""End to end in the job's locale: Engine → Renderer → Intake → SQLite outbox → Dispatcher → every channel.

The shipped failed-publish rule, pointed at real receivers on 127.0.0.1, announces a failed publish.
What each receiver got is compared with a golden file per locale (`UPDATE_GOLDEN=1` rewrites them; review
the diff): the email's subject, text and HTML, the Slack blocks, the webhook's `message`, the Teams card and
the PagerDuty event. The config sets `http.public_url`, so every channel links to the status page.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from notifier.app.daemon import Daemon
from notifier.config import load_config
from notifier.i18n import SUPPORTED, negotiate
from notifier.models import Event, JobLogDetail
from notifier.runtime.clock import ManualClock
from notifier.store.records import DELIVERED
from tests.support.endpoints import WEBHOOK_SECRET, Received, Receivers, config_yaml, receivers
from tests.support.i18n import SHIPPED_RULES, TIMEZONES, company, failed_log, job

GOLDEN = Path(__file__).parent / "golden" / "delivery"
CHANNELS = ("ops-slack", "ops-email", "downstream", "ops-teams", "on-call")
# IPS writes log lines in the locale getJobLogDetails was asked in; one carries markup to show HTML escaping.
LOG_LINES = {
    "ja-JP": (
        "hero-banner.tif: カラープロファイルがサポートされていません",
        "lookbook-07.psd: <layer 3> が破損しています",
    ),
    "default": ("hero-banner.tif: unsupported color profile", "lookbook-07.psd: <layer 3> is damaged & was skipped"),
}


def failed_publish(tag: str | None, name: str = "Spring catalog") -> Event:
    """A publish job in locale `tag` failed; its company (in that locale's usual zone) has no locale of its own."""
    resolved = negotiate(tag)
    lines = LOG_LINES.get(resolved, LOG_LINES["default"])
    details = tuple(JobLogDetail(log_message=line, log_type="Error") for line in lines)
    log = failed_log(details=details)
    assert log.end_date is not None
    return Event(
        "job.failed",
        log.end_date,
        company(None, TIMEZONES[resolved]),
        job(tag, original_name=name),
        log=log,
        details=details,
    )


def rules_to_receivers(tmp_path: Path) -> Path:
    """The shipped failed-publish rule, notifying Slack, email (plus the submitter), the webhook, Teams and
    PagerDuty."""
    shipped = (SHIPPED_RULES / "failed-publish.yaml").read_text(encoding="utf-8")
    targets = '    - channel: ops-slack\n    - channel: ops-email\n      to: ["{{ job.submit_user_email }}"]\n'
    targets += "    - channel: downstream\n    - channel: ops-teams\n    - channel: on-call\n"
    path = tmp_path / "rules" / "failed-publish.yaml"
    path.parent.mkdir()
    path.write_text(shipped.replace("    - channel: console\n", targets), "utf-8")
    return path.parent


async def deliver(tmp_path: Path, endpoints: Receivers, event: Event) -> Received:
    """Run the event through the daemon (as `Daemon.open` wires it, polling nothing), until every channel
    delivered."""
    config_file = tmp_path / "notifier.yaml"
    config_file.write_text(config_yaml(endpoints, str(rules_to_receivers(tmp_path))), encoding="utf-8")
    config = load_config(config_file)
    async with Daemon.open(config, clock=ManualClock(event.at), polling=False) as daemon:
        await daemon.queue.put(event)
        await daemon.settle()
        delivered = await daemon.store.list_deliveries([DELIVERED])
    assert sorted(row.channel for row in delivered) == sorted(CHANNELS)
    return endpoints.received


def verified_webhook(received: Received) -> dict[str, object]:
    """The webhook body, after standardwebhooks checked its signature with the configured secret."""
    body, headers = received.hooks[0]
    payload = Webhook(WEBHOOK_SECRET).verify(body, {k.lower(): v for k, v in headers.items()})
    assert isinstance(payload, dict)
    return payload


def transcript(received: Received) -> str:
    """What a person or a program receiving the notification sees, channel by channel."""
    mail = received.mail[0]
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None
    assert html is not None
    payload = verified_webhook(received)
    data = payload["data"]
    assert isinstance(data, dict)
    sections = [
        f"=== email\nSubject: {mail['Subject']}\nContent-Language: {mail['Content-Language']}",
        f"--- text/plain\n{text.get_content().replace(chr(13), '')}",
        f"--- text/html\n{html.get_content().replace(chr(13), '')}",
        f"=== slack blocks\n{json.dumps(received.slack[0]['blocks'], ensure_ascii=False, indent=1)}",
        f"=== webhook {payload['type']} message\n{json.dumps(data['message'], ensure_ascii=False, indent=1)}",
        f"=== teams card\n{json.dumps(received.teams.cards[0], ensure_ascii=False, indent=1)}",
        f"=== pagerduty event\n{json.dumps(received.pagerduty.events[0], ensure_ascii=False, indent=1)}",
    ]
    return "\n".join(sections) + "\n"


def check_golden(locale: str, actual: str) -> None:
    path = GOLDEN / f"{locale}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="\n")
    assert path.is_file(), f"{path} is missing: run UPDATE_GOLDEN=1 pytest tests/i18n"
    assert actual == path.read_text(encoding="utf-8")


async def test_failed_publish_of_a_japanese_job_arrives_in_japanese_everywhere(tmp_path: Path) -> None:
    """Slack, email and webhook all carry the Japanese message; the decoded subject is exactly the title."""
    async with receivers() as endpoints:
        received = await deliver(tmp_path, endpoints, failed_publish("ja-JP", name="春のカタログ"))
    title = "公開ジョブ「春のカタログ」が失敗しました"
    mail = received.mail[0]
    assert mail["Subject"] == title
    headers_on_the_wire = received.raw_mail[0].split(b"\r\n\r\n", 1)[0]
    assert headers_on_the_wire.isascii()
    assert re.search(rb"(?mi)^Subject: =\?utf-8\?[bq]\?", headers_on_the_wire)  # RFC 2047, decoded to the title
    assert sorted(mail["To"].split(", ")) == ["ana@example.com", "ops@example.com"]
    assert received.slack[0]["blocks"][0]["text"]["text"] == f":red_circle: {title}"
    assert received.slack[0]["channel"] == "#dmc-alerts"
    message = verified_webhook(received)["data"]["message"]  # type: ignore[index]
    assert (message["locale"], message["title"]) == ("ja-JP", title)


@pytest.mark.parametrize("locale", SUPPORTED)
async def test_failed_publish_delivery_matches_golden_file(tmp_path: Path, locale: str) -> None:
    """Email, Slack and webhook content of a failed publish, per locale, exactly as reviewed."""
    async with receivers() as endpoints:
        received = await deliver(tmp_path, endpoints, failed_publish(locale))
    check_golden(locale, transcript(received))


@pytest.mark.parametrize(("tag", "locale"), [("de", "de-DE"), ("pt", "pt-BR"), ("zh-HK", "zh-TW"), ("xx-YY", "en-US")])
async def test_a_job_locale_without_its_own_catalog_gets_the_closest_one(tmp_path: Path, tag: str, locale: str) -> None:
    """A `de` job is told in German, `pt` in Brazilian Portuguese, `zh-HK` in zh-TW, an unknown one in en-US."""
    async with receivers() as endpoints:
        received = await deliver(tmp_path, endpoints, failed_publish(tag))
    assert verified_webhook(received)["data"]["message"]["locale"] == locale  # type: ignore[index]
    check_golden(locale, transcript(received))
