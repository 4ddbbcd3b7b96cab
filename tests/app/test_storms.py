"""Alert storms and conversations end to end: the daemon as `Daemon.open` wires it, real receivers on 127.0.0.1
(the Slack Web API fake, aiosmtpd, a webhook endpoint verified with `standardwebhooks`), time driven by the test."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from standardwebhooks.webhooks import Webhook

from notifier.app.daemon import Daemon
from notifier.config import load_config
from notifier.models import Event, JobLog, JobLogDetail
from notifier.runtime.clock import ManualClock
from tests.support.endpoints import SLACK_CHANNEL_ID, WEBHOOK_SECRET, Receivers, config_yaml, receivers, slack_ts
from tests.support.engine import COMPANY, T0, active, job

WAIT, INTERVAL = 30, 300
STORM = f"""
- name: failed-publish
  description: A publish job ended with errors
  on: job.failed
  severity: critical
  notify:
    - channel: ops-slack
      group_by: [company.handle]
      group_wait: {WAIT}s
      group_interval: {INTERVAL}s
    - channel: downstream
"""
STALLED = """
- name: stalled
  description: A running job made no progress
  on: job.active
  where: job.stalled_seconds >= 900
  send_resolved: true
  repeat: 1h
  notify: [{channel: ops-slack}, {channel: ops-email}, {channel: downstream}]
"""


@pytest.fixture
async def endpoints() -> AsyncIterator[Receivers]:
    async with receivers() as started:
        yield started


def failed(n: int, seconds: float = 0) -> Event:
    """Publish job `n` of company 47 failed `seconds` after T0, with one error line in its log."""
    at = T0 + timedelta(seconds=seconds)
    handle = f"47||Publish_{n}"
    detail = JobLogDetail(log_message=f"asset-{n}.tif: upload to the publish server failed", log_type="Error")
    log = JobLog(company_handle="47", job_handle=handle, end_date=at, details=(detail,), file_error_count=1)
    return Event("job.failed", at, COMPANY, job(handle, original_name=f"Publish {n}"), log=log, details=(detail,))


def configure(tmp_path: Path, endpoints: Receivers, rules: str, http: str = "") -> Path:
    (tmp_path / "rules.yaml").write_text(rules, encoding="utf-8")
    path = tmp_path / "notifier.yaml"
    path.write_text(config_yaml(endpoints, str(tmp_path / "rules.yaml"), http=http), encoding="utf-8")
    return path


async def put(daemon: Daemon, events: list[Event]) -> None:
    for event in events:
        await daemon.queue.put(event)
    await daemon.settle()


def verified_hooks(endpoints: Receivers) -> list[dict[str, object]]:
    """Every webhook body received, each signature checked by the independent standardwebhooks package."""
    verifier = Webhook(WEBHOOK_SECRET)
    return [verifier.verify(body, headers) for body, headers in endpoints.received.hooks]


async def test_a_storm_is_two_slack_messages_and_every_webhook_event(tmp_path: Path, endpoints: Receivers) -> None:
    """300 failures in one company within group_wait + group_interval: at most two Slack messages (the digest of
    what came in the first 30 s, then one update after the interval), while the ungrouped webhook gets 300
    individually signed events."""
    clock = ManualClock(T0)
    config = load_config(configure(tmp_path, endpoints, STORM))
    async with Daemon.open(config, clock=clock, polling=False) as daemon:
        await put(daemon, [failed(n, seconds=n / 10) for n in range(250)])
        assert endpoints.received.slack == []  # the group collects for group_wait
        clock.advance(WAIT)
        await daemon.settle()
        await put(daemon, [failed(n, seconds=WAIT + 10) for n in range(250, 300)])
        clock.advance(INTERVAL)
        await daemon.settle()
    hooks = verified_hooks(endpoints)
    assert len(hooks) == 300
    assert {h["type"] for h in hooks} == {"job.failed"}
    assert len({headers["webhook-id"] for _, headers in endpoints.received.hooks}) == 300
    first, second = endpoints.received.slack
    title = first["blocks"][0]["text"]["text"]
    assert title.endswith("A publish job ended with errors: 250 alerts in company Planetary")
    listed = json.dumps(first["blocks"], ensure_ascii=False)
    assert "Publish 0: asset-0.tif: upload to the publish server failed" in listed
    assert "… and 240 more" in listed
    assert "Image Serving publish" in listed  # counted per job type
    assert "50 alerts" in second["text"]
    assert "thread_ts" not in second  # one-off failures leave nothing open: the update is a message of its own


async def test_a_resolving_stall_replies_in_its_thread_and_updates_the_original(
    tmp_path: Path, endpoints: Receivers
) -> None:
    """The resolution goes into the firing message's thread and edits it; mail threads by In-Reply-To; webhooks
    carry the same group_key and thread for both."""
    config = load_config(configure(tmp_path, endpoints, STALLED))
    async with Daemon.open(config, clock=ManualClock(T0), polling=False) as daemon:
        await put(daemon, [active(20, stalled=1000)])
        await put(daemon, [active(25, stalled=10)])
    received = endpoints.received
    firing, reply = received.slack
    assert "thread_ts" not in firing
    assert (reply["thread_ts"], reply["channel"]) == (slack_ts(0), SLACK_CHANNEL_ID)
    [update] = received.slack_updates
    assert update["ts"] == slack_ts(0)
    assert update["blocks"] == reply["blocks"]
    assert update["blocks"][0]["text"]["text"].startswith(":white_check_mark:")
    first_mail, resolved_mail = received.mail
    assert resolved_mail["In-Reply-To"] == first_mail["Message-ID"] == resolved_mail["References"]
    fired, ended = verified_hooks(endpoints)
    assert fired["data"]["thread"] == ended["data"]["thread"]  # type: ignore[index]
    assert fired["data"]["group_key"] == ended["data"]["group_key"]  # type: ignore[index]


async def test_a_deleted_original_gets_a_message_of_its_own(tmp_path: Path, endpoints: Receivers) -> None:
    """When the first message is gone (message_not_found), the resolution is posted as a new message: not lost."""
    config = load_config(configure(tmp_path, endpoints, STALLED))
    async with Daemon.open(config, clock=ManualClock(T0), polling=False) as daemon:
        await put(daemon, [active(20, stalled=1000)])
        endpoints.received.slack_deleted.add(slack_ts(0))
        await put(daemon, [active(25, stalled=10)])
    _firing, resolved = endpoints.received.slack
    assert "thread_ts" not in resolved
    assert resolved["blocks"][0]["text"]["text"].startswith(":white_check_mark:")
    assert endpoints.received.slack_updates == []


async def test_a_restart_mid_group_neither_duplicates_nor_drops(tmp_path: Path, endpoints: Receivers) -> None:
    """Members collected before a restart are sent once after it, in one digest, under the same ids; the same
    failures seen again after the restart are not collected twice."""
    config = load_config(configure(tmp_path, endpoints, STORM))
    storm = [failed(n, seconds=n) for n in range(40)]
    async with Daemon.open(config, clock=ManualClock(T0), polling=False) as daemon:
        await put(daemon, storm)
    assert endpoints.received.slack == []
    clock = ManualClock(T0 + timedelta(seconds=20))
    async with Daemon.open(config, clock=clock, polling=False) as daemon:
        await put(daemon, storm)  # replayed after the restart: already collected
        clock.advance(WAIT + 60)
        await daemon.settle()
        clock.advance(INTERVAL * 2)
        await daemon.settle()
    [digest] = endpoints.received.slack
    assert "40 alerts" in digest["text"]
    assert len(endpoints.received.hooks) == 40


GROUPED_STALLS = STALLED.replace(
    "  notify: [{channel: ops-slack}, {channel: ops-email}, {channel: downstream}]\n",
    "  notify:\n    - {channel: ops-slack, group_by: [company.handle], group_wait: 30s, group_interval: 5m}\n",
)


async def test_a_group_of_stalls_answers_in_its_first_digests_thread(tmp_path: Path, endpoints: Receivers) -> None:
    """Three stalls are one digest; when two resolve, the next digest replies in its thread and edits it to say
    one still fires; when the last resolves, the same again saying all have."""
    clock = ManualClock(T0 + timedelta(minutes=20))
    config = load_config(configure(tmp_path, endpoints, GROUPED_STALLS))
    stalls = [active(20, stalled=1000, job_handle=f"47||Stall_{n}") for n in range(3)]
    async with Daemon.open(config, clock=clock, polling=False) as daemon:
        await put(daemon, stalls)
        clock.advance(WAIT)
        await daemon.settle()
        await put(daemon, [active(21, stalled=10, job_handle=f"47||Stall_{n}") for n in range(2)])
        clock.advance(INTERVAL)
        await daemon.settle()
        await put(daemon, [active(30, stalled=10, job_handle="47||Stall_2")])
        clock.advance(INTERVAL)
        await daemon.settle()
    first, second, third = endpoints.received.slack
    assert "3 alerts" in first["text"]
    assert "thread_ts" not in first
    assert second["thread_ts"] == third["thread_ts"] == slack_ts(0)
    assert "1 alert of this group is still firing." in second["text"]
    assert "Every alert of this group has resolved." in third["text"]
    assert [u["ts"] for u in endpoints.received.slack_updates] == [slack_ts(0), slack_ts(0)]
    assert endpoints.received.slack_updates[-1]["text"] == third["text"]


async def test_digests_are_counted_in_the_metrics(tmp_path: Path, endpoints: Receivers) -> None:
    """Each committed digest counts once, with the notifications it tells, by rule and channel."""
    clock = ManualClock(T0)
    config = load_config(configure(tmp_path, endpoints, STORM))
    async with Daemon.open(config, clock=clock, polling=False) as daemon:
        await put(daemon, [failed(n) for n in range(7)])
        clock.advance(WAIT)
        await daemon.settle()
        labels = {"rule": "failed-publish", "channel": "ops-slack"}
        digests = daemon.metrics.registry.get_sample_value("notifier_digests_total", labels)
        told = daemon.metrics.registry.get_sample_value("notifier_digested_notifications_total", labels)
    assert (digests, told) == (1, 7)


async def test_what_waits_for_a_digest_is_on_the_status_page_the_api_and_the_metrics(
    tmp_path: Path, endpoints: Receivers
) -> None:
    """While a group collects, the window shows its members per channel with the digest's due time (and the
    gauge counts them); once the digest is made, nothing waits and the gauge is back to 0."""
    clock = ManualClock(T0)
    config = load_config(configure(tmp_path, endpoints, STORM, http='listen: "127.0.0.1:0"'))
    async with Daemon.open(config, clock=clock, polling=False) as daemon, aiohttp.ClientSession() as http:

        async def get(path: str) -> str:
            async with http.get(daemon.window.url(path)) as answer:
                assert answer.status == 200
                return await answer.text()

        await put(daemon, [failed(n) for n in range(7)])
        groups = json.loads(await get("/api/groups"))
        due = (T0 + timedelta(seconds=WAIT)).isoformat()
        assert groups["channels"] == [
            {"channel": "ops-slack", "groups": 1, "members": 7, "next_digest_at": due, "overdue": 0}
        ]
        [group] = groups["groups"]
        assert (group["rule"], group["labels"], group["members"], group["digest_due_at"], group["overdue"]) == (
            "failed-publish", {"company.handle": "47"}, 7, due, False)  # fmt: skip
        status = json.loads(await get("/api/status"))
        assert (status["summary"]["group_members_waiting"], status["summary"]["groups_waiting"]) == (7, 1)
        page = await get("/status")
        assert "Waiting for a digest" in page
        assert re.search(r"<td class=\"num\">7</td>", page)
        metrics = await get("/metrics")
        assert 'notifier_group_members_waiting{channel="ops-slack"} 7.0' in metrics
        assert 'notifier_group_members_waiting{channel="downstream"} 0.0' in metrics
        clock.advance(WAIT)
        await daemon.settle()
        assert json.loads(await get("/api/groups")) == {"waiting": 0, "channels": [], "groups": []}
        assert 'notifier_group_members_waiting{channel="ops-slack"} 0.0' in await get("/metrics")
    assert len(endpoints.received.slack) == 1


async def test_a_silence_added_while_a_group_waits_keeps_its_matches_out_of_the_digest(
    tmp_path: Path, endpoints: Receivers
) -> None:
    """Members a silence matches when the digest is made are held back (stored as silenced, counted, and still
    sendable with a retry); the digest tells the others, and ungrouped targets are unaffected."""
    clock = ManualClock(T0)
    config = load_config(configure(tmp_path, endpoints, STORM))
    async with Daemon.open(config, clock=clock, polling=False) as daemon:
        await put(daemon, [failed(n) for n in range(7)])
        silence = await daemon.store.add_silence(
            [("job", "47||Publish_1"), ("channel", "ops-slack")], clock.now(), clock.now() + timedelta(hours=1),
            "re-running it", "ops",
        )  # fmt: skip
        clock.advance(WAIT)
        await daemon.settle()
        [held] = await daemon.store.list_deliveries(["silenced"])
        assert (held.channel, held.notification.job_handle) == ("ops-slack", "47||Publish_1")
        assert await daemon.store.silenced_counts() == {silence.id: 1}
        labels = {"rule": "failed-publish", "channel": "ops-slack"}
        assert daemon.metrics.registry.get_sample_value("notifier_notifications_silenced_total", labels) == 1
        assert daemon.metrics.registry.get_sample_value("notifier_digested_notifications_total", labels) == 6
        [digest] = endpoints.received.slack
        assert digest["blocks"][0]["text"]["text"].endswith("6 alerts in company Planetary")
        assert "Publish 1:" not in json.dumps(digest["blocks"])
        assert await daemon.store.retry(held.id, clock.now()) is not None
        await daemon.settle()
    assert len(endpoints.received.slack) == 2
    assert "Publish 1" in json.dumps(endpoints.received.slack[1])
    assert len(verified_hooks(endpoints)) == 7
