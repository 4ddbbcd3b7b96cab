"""The renderer leaves out the HTML part of a message that goes to no channel sending it."""

from __future__ import annotations

from dataclasses import replace

from notifier.compose.render import Renderer
from notifier.engine.rules import RuleChannel
from tests.support.i18n import failed_publish


def test_html_is_rendered_only_for_a_channel_that_sends_it() -> None:
    """With `html_channels` given, a notification to none of them has no HTML; one to any of them has it."""
    renderer = Renderer(html_channels=["mail"])
    to_console = failed_publish("en-US")
    to_mail = replace(to_console, rule=replace(to_console.rule, notify=(RuleChannel("console"), RuleChannel("mail"))))
    without = renderer.render(to_console).notification.message
    with_html = renderer.render(to_mail).notification.message
    assert without.html is None
    assert with_html.html is not None
    assert "<p>" in with_html.html
    assert replace(with_html, html=None) == without  # every other part is the same


def test_html_is_rendered_for_every_notification_by_default() -> None:
    """Without `html_channels` (previews, `notifier rules test`), every message has its HTML part."""
    assert Renderer().render(failed_publish("de-DE")).notification.message.html is not None
