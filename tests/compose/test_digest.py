"""Digests and groups, pure: what a digest says in each locale, what it counts, which conversation it continues,
and which group a notification joins."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from babel.numbers import format_decimal

from notifier.channels.email import build_message
from notifier.channels.slack import MAX_BLOCKS, MAX_HEADER, MAX_SECTION, blocks
from notifier.channels.webhook import webhook_payload
from notifier.compose.digest import LISTED, flush
from notifier.compose.grouping import field_value, group_key, grouped
from notifier.engine.evaluate import Decision
from notifier.engine.grouping import GroupSpec
from notifier.engine.rules import RuleChannel
from notifier.i18n import SUPPORTED
from notifier.i18n.catalogs import shipped
from notifier.models import Notification
from notifier.safety import SCRUBBER
from notifier.store.records import Destination, DueGroup, GroupFlush, Outgoing
from tests.support.i18n import failed_publish, rule
from tests.support.store import NOW, notification

# A phrase of the digest's title only that locale's catalog says.
WORDS = {
    "en-US": "alerts in company", "de-DE": "Alarme im Unternehmen", "fr-FR": "alertes dans la société",
    "es-ES": "alertas en la empresa", "it-IT": "avvisi nell’azienda", "pt-BR": "alertas na empresa",
    "nl-NL": "meldingen in bedrijf", "sv-SE": "larm i företaget", "ja-JP": "のアラート", "ko-KR": "의 알림",
    "zh-CN": "条告警", "zh-TW": "則警示",
}  # fmt: skip


def digest_of(made: GroupFlush) -> Outgoing:
    """The digest a flush stores (every flush here has one: no silence holds members back)."""
    assert made.digest is not None
    return made.digest


def members(count: int, status: str = "firing", start: int = 0) -> tuple[Notification, ...]:
    """`count` failed publishes of company 47, collected over the 40 seconds before NOW."""
    return tuple(
        replace(notification(f"msg_{n}"), status=status, alert_key=f"alert_{n}", created_at=NOW - timedelta(seconds=40),
                job={"job_handle": f"47||J{n}", "original_name": f"Spring {n}", "type": "ImageServingPublish"})
        for n in range(start, start + count)
    )  # fmt: skip


def due(items: tuple[Notification, ...], **changes: object) -> DueGroup:
    base = DueGroup("grp_1", "failed-publish", "slack", (("company.handle", "47"),), ("a@example.com",), items, 0,
                    None, ())  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def test_every_locale_words_and_counts_the_digest_with_its_catalog() -> None:
    """In each of the 12 locales the title is the catalog's plural form with the count formatted there."""
    assert set(WORDS) == set(SUPPORTED)
    group = due(members(1200))
    for locale, words in WORDS.items():
        title = digest_of(flush(group, None, locale=locale, catalogs=shipped(), now=NOW)).notification.message.title
        assert format_decimal(1200, locale=locale.replace("-", "_")) in title, (locale, title)
        assert words in title, (locale, title)


@pytest.mark.parametrize("locale", SUPPORTED)
def test_one_alert_takes_the_singular_and_the_rest_are_counted(locale: str) -> None:
    """One alert reads as one in every locale; beyond the jobs listed, "and N more" is said in the locale."""
    catalog = shipped().get(locale)
    one = digest_of(flush(due(members(1)), None, locale=locale, catalogs=shipped(), now=NOW)).notification
    assert one.message.title == catalog.ngettext(
        "%(what)s: %(count)s alert in company %(company)s", "%(what)s: %(count)s alerts in company %(company)s", 1
    ) % {"what": "failed-publish", "count": "1", "company": "Planetary"}
    many = digest_of(flush(due(members(LISTED + 3)), None, locale=locale, catalogs=shipped(), now=NOW)).notification
    assert len(many.details) == LISTED + 1
    assert many.details[-1] == catalog.ngettext("… and %(count)s more", "… and %(count)s more", 3) % {"count": "3"}


def test_the_channel_locale_wins_over_the_company_locale() -> None:
    """A channel's `locale:` words the digest; without one, the company's does."""
    items = tuple(replace(m, company={"handle": "47", "name": "Planetary", "locale": "ja-JP"}) for m in members(2))
    channel = digest_of(flush(due(items), None, locale="de-DE", catalogs=shipped(), now=NOW))
    company = digest_of(flush(due(items), None, locale=None, catalogs=shipped(), now=NOW))
    assert channel.notification.message.locale == "de-DE"
    assert company.notification.message.locale == "ja-JP"


def test_a_digest_lists_jobs_with_their_first_log_line_and_counts_types() -> None:
    """Job names with their first error line as IPS wrote it; a field per job type with its count."""
    digest = digest_of(flush(due(members(3)), None, locale="en-US", catalogs=shipped(), now=NOW)).notification
    assert digest.details[0] == "Spring 0: ファイルが見つかりません"
    assert digest.message.fields == (("Image Serving publish", "3"),)
    assert "Collected over the last 40\u00a0seconds." in digest.message.text
    assert digest.message.html is not None
    assert "<li>Spring 0: ファイルが見つかりません</li>" in digest.message.html
    assert (digest.event_kind, digest.severity, digest.status) == ("alert.group", "critical", "firing")


def test_alerts_that_resolve_keep_the_group_conversation_open_until_they_do() -> None:
    """State alerts that send resolutions stay open: the next digest continues the first one's conversation and
    says how many still fire; when the last resolves, the conversation ends."""
    stalled = replace(rule("stalled", "job.active"), send_resolved=True)
    first = flush(due(members(3)), stalled, locale="en-US", catalogs=shipped(), now=NOW)
    assert digest_of(first).notification.thread == ""
    assert first.thread == digest_of(first).notification.key
    assert first.open == ("alert_0", "alert_1", "alert_2")
    later = due(members(2, status="resolved"), sent=1, thread=first.thread, open=first.open)
    second = flush(later, stalled, locale="en-US", catalogs=shipped(), now=NOW)
    assert digest_of(second).notification.thread == first.thread
    assert "1 alert of this group is still firing." in digest_of(second).notification.message.text
    assert "Firing: 0 · Resolved: 2" in digest_of(second).notification.message.text
    last = due(members(1, status="resolved", start=2), sent=2, thread=second.thread, open=second.open)
    third = flush(last, stalled, locale="en-US", catalogs=shipped(), now=NOW)
    assert (third.open, third.thread) == ((), None)
    assert "Every alert of this group has resolved." in digest_of(third).notification.message.text
    assert digest_of(third).notification.status == "resolved"


def test_a_digest_key_is_stable_and_its_destination_is_the_groups() -> None:
    """The same group at the same count makes the same digest key; the digest goes to the group's channel."""
    one = flush(due(members(2)), None, locale=None, catalogs=shipped(), now=NOW)
    again = flush(due(members(2)), None, locale=None, catalogs=shipped(), now=NOW + timedelta(hours=1))
    assert digest_of(one).notification.key == digest_of(again).notification.key
    assert digest_of(one).destinations == (Destination("slack", ("a@example.com",)),)
    assert one.members == ("msg_0", "msg_1")


def test_the_webhook_digest_holds_exactly_the_single_alert_bodies() -> None:
    """`type: alert.group`, `data.alerts[]` each exactly the body that alert sends alone, counts and group key."""
    items = members(3)
    body = webhook_payload(digest_of(flush(due(items), None, locale=None, catalogs=shipped(), now=NOW)).notification)
    assert body["type"] == "alert.group"
    assert body["data"]["alerts"] == [webhook_payload(m) for m in items]
    assert body["data"]["counts"] == {"alerts": 3, "firing": 3, "resolved": 0, "still_firing": 0}
    assert body["data"]["group_key"] == "grp_1"
    assert body["data"]["labels"] == {"company.handle": "47"}


def test_grouped_targets_join_a_group_named_by_their_values() -> None:
    """A target with group_by gets a grouping keyed by rule, channel and values; other targets are unchanged."""
    base = failed_publish("en-US")
    targets = (RuleChannel("slack", group=GroupSpec(("company.handle", "job.type"))), RuleChannel("hook"))
    decision: Decision = replace(base, rule=replace(base.rule, notify=targets))
    outgoing = Outgoing(notification(), (Destination("slack"), Destination("hook")))
    slack, hook = grouped(outgoing, decision).destinations
    assert hook.group is None
    assert slack.group is not None
    assert slack.group.labels == (("company.handle", "47"), ("job.type", "ImageServingPublish"))
    assert slack.group.key == group_key("failed-publish", "slack", slack.group.labels)
    assert (slack.group.wait, slack.group.interval) == (30.0, 300.0)
    assert field_value(decision.event, "event.kind") == "job.failed"
    assert group_key("failed-publish", "slack", (("company.handle", "48"),)) != slack.group.key


def test_a_stored_digest_keeps_each_alert_as_it_would_be_sent_alone() -> None:
    """Scrubbing a digest for the store leaves its alerts' long texts as scrubbing each alone does."""
    long = replace(notification("msg_long"), message=replace(notification().message, text="x" * 5000))
    digest = digest_of(flush(due((long,)), None, locale=None, catalogs=shipped(), now=NOW)).notification
    stored = SCRUBBER.notification(digest)
    assert stored.group is not None
    assert stored.group.alerts == (SCRUBBER.notification(long),)
    assert len(stored.group.alerts[0].message.text) == 5000


def test_a_huge_digest_stays_within_block_kit_limits_and_mails_as_multipart() -> None:
    """500 alerts with page-long names and log lines: Slack blocks within Block Kit's limits; a text and an HTML
    part by mail."""
    huge = tuple(
        replace(m, job={**(m.job or {}), "original_name": "N" * 900}, details=("<!channel> " + "e" * 990,))
        for m in members(500)
    )
    digest = digest_of(flush(due(huge), None, locale="en-US", catalogs=shipped(), now=NOW)).notification
    laid_out = blocks(digest)
    assert len(laid_out) <= MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= MAX_SECTION for b in laid_out if b["type"] == "section" and "text" in b)
    assert len(laid_out[0]["text"]["text"]) <= MAX_HEADER
    assert "<!channel>" not in json.dumps(laid_out)
    mail = build_message(digest, "notifier@example.com", ["ops@example.com"])
    assert [part.get_content_type() for part in mail.iter_parts()] == ["text/plain", "text/html"]
