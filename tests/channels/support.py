"""Helpers for channel tests: a representative notification, config builders and a free local port."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from notifier.models import Delivery, Message, Notification

CREATED = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)
TITLE_JA = "公開ジョブ「春のカタログ」が失敗しました"


def sample_notification(**changes: Any) -> Notification:
    """A failed-publish notification in Japanese, with job data that tries to mention everyone."""
    message = Message(
        locale="ja-JP",
        title=TITLE_JA,
        text="ジョブ spring <!channel> & <https://evil.example|click> が失敗しました。",
        html="<p>ジョブが失敗しました。</p>",
        fields=(("会社", "Planetary"), ("ジョブ", "spring <!here>"), ("進捗", "40%")),
    )
    base = Notification(
        key="failed-publish|c100|c100||A|firing|1",
        rule="failed-publish",
        severity="critical",
        status="firing",
        event_kind="job.failed",
        created_at=CREATED,
        company={"handle": "c100", "name": "Planetary", "locale": "ja-JP"},
        job={"job_handle": "c100||A", "name": "spring <!channel>", "type": "ImageServingPublish", "progress": 40},
        log={"job_handle": "c100||A", "fatal_error": True, "file_error_count": 2},
        message=message,
        details=("asset-1.tif: 変換に失敗しました", "asset-2.tif: unsupported"),
    )
    return replace(base, **changes)


def sample_delivery(channel: str = "test", recipients: tuple[str, ...] = (), **changes: Any) -> Delivery:
    return Delivery(sample_notification(**changes), channel, recipients)


def free_port() -> int:
    """A port nothing listens on right now (bound, read, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
