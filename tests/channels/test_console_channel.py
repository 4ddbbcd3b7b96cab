"""The console channel: one flushed line per delivery, the webhook body as JSON or a summary for people."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from notifier.channels.base import TransportFailure
from notifier.channels.console import ConsoleSender
from notifier.channels.webhook import webhook_payload
from notifier.config import load_config
from tests.support.channels import TITLE_JA, sample_delivery, sample_notification


class FlushCounter(io.StringIO):
    """A stream that counts flushes, to prove each line is pushed out at once."""

    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


async def test_one_json_line_per_delivery() -> None:
    """Each delivery becomes one line holding the channel name and exactly the webhook payload."""
    stream = FlushCounter()
    sender = ConsoleSender("console", stream)
    await sender.send(sample_delivery())
    await sender.send(sample_delivery(status="resolved"))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert stream.flushes == 2
    first = json.loads(lines[0])
    assert first.pop("channel") == "console"
    assert first == webhook_payload(sample_notification())
    assert json.loads(lines[1])["data"]["status"] == "resolved"


async def test_non_ascii_is_written_as_is() -> None:
    """Japanese text is written readably, not as \\u escapes."""
    stream = io.StringIO()
    await ConsoleSender("console", stream).send(sample_delivery())
    assert sample_notification().message.title in stream.getvalue()


async def test_defaults_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a stream the line goes to the current standard output."""
    await ConsoleSender("console").send(sample_delivery())
    assert json.loads(capsys.readouterr().out)["channel"] == "console"


async def test_closed_stream_is_a_transport_failure() -> None:
    """Writing to a closed stream is reported as a failure for the policy, not an unexpected crash."""
    stream = io.StringIO()
    stream.close()
    with pytest.raises(TransportFailure):
        await ConsoleSender("console", stream).send(sample_delivery())


async def test_summary_format_is_one_readable_line_per_notification() -> None:
    """`format: summary` writes time, status, severity, rule, company, locale and title on one line, no JSON."""
    stream = io.StringIO()
    await ConsoleSender("console", stream, summary=True).send(sample_delivery())
    created = sample_notification().created_at
    assert stream.getvalue() == (
        f"{created:%H:%M:%S}  FIRING    critical  failed-publish  c100 Planetary  [ja-JP] {TITLE_JA}\n"
    )


def test_console_format_is_chosen_in_the_config(tmp_path: Path) -> None:
    """`{type: console, format: summary}` builds a summarizing channel; the default stays JSON lines."""
    path = tmp_path / "notifier.yaml"
    path.write_text(
        'ips: {endpoint: "http://127.0.0.1:9/x", user: u, password: p}\ncompanies: [{handle: "47"}]\n'
        "channels: {people: {type: console, format: summary}, pipe: {type: console}}\n",
        encoding="utf-8",
    )
    config = load_config(path, environ={})
    assert [c.format for c in config.channels.values()] == ["summary", "json"]  # type: ignore[union-attr]
