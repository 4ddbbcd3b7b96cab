"""The console channel: one flushed JSON line per delivery, the webhook body plus the channel name."""

from __future__ import annotations

import io
import json

import pytest

from notifier.channels.base import TransportFailure
from notifier.channels.console import ConsoleSender
from notifier.channels.webhook import webhook_payload
from tests.channels.support import sample_delivery, sample_notification


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
