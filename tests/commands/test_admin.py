"""`notifier outbox …` and `notifier silence …` through the real command line against a real state file."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from notifier.cli import main
from notifier.compose.composer import Composer
from notifier.compose.render import Renderer
from notifier.engine.evaluate import Engine
from notifier.engine.rules import load_rules
from notifier.models import Event, JobLog
from notifier.runtime.clock import SystemClock
from notifier.store.records import (
    DEAD,
    DELIVERED,
    PENDING,
    DeliveryRow,
    DeliveryState,
    Destination,
    Grouping,
    Outgoing,
)
from notifier.store.sqlite.store import SqliteStore
from tests.support.engine import COMPANY, at, job
from tests.support.store import due, notification, settle

SECRET = "whsec_" + base64.b64encode(b"admin-command-test-key").decode()
CONFIG = f"""
ips: {{endpoint: "http://127.0.0.1:9/scene7/services/IpsApiService", user: u, password: p}}
companies: [{{handle: "47"}}]
rules: rules.yaml
state: sqlite:///state/notifier.db
channels:
  hook: {{type: webhook, url: "http://127.0.0.1:9/hook", secret: "{SECRET}"}}
  slack: {{type: slack, token: xoxb-1, channel: "#alerts"}}
"""
RULES = """
- name: failed-publish
  on: job.failed
  severity: critical
  notify: [{channel: hook}, {channel: slack}]
"""
T = TypeVar("T")
Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    (tmp_path / "state").mkdir()
    path = tmp_path / "notifier.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def cli(config: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run `notifier COMMAND --config … ARGS`; returns (exit code, stdout, stderr)."""

    def run(command: str, *args: str) -> tuple[int, str, str]:
        code = main([command, "--config", str(config), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def with_store(config: Path, use: Callable[[SqliteStore], Awaitable[T]]) -> T:
    """Open the configured state file, do something with it, close it (as a second process would)."""

    async def go() -> T:
        store = await SqliteStore.open(config.parent / "state" / "notifier.db")
        try:
            return await use(store)
        finally:
            await store.close()

    return asyncio.run(go())


def seed(config: Path, states: dict[str, DeliveryState], disable: str | None = None) -> dict[str, int]:
    """One notification per key, to the hook, its row put in the given state; returns row ids by key. With
    `disable`, the dead rows are those whose answer disabled the hook (as a 410 does)."""

    async def go(store: SqliteStore) -> dict[str, int]:
        now = datetime.now(UTC)
        items = [Outgoing(notification(key, title=f"Job {key} failed"), (Destination("hook"),)) for key in states]
        await store.commit(items, [], [], now)
        ids = {}
        for row in await due(store, now.timestamp() + 1, 100):
            ids[row.notification.key] = row.id
            state = states[row.notification.key]
            error = {DEAD: "HTTP 400", PENDING: "HTTP 503"}.get(state)
            dead_by = disable if state == DEAD else None
            await settle(store, row, state, next_at=now.timestamp() + 60, error=error, disable=dead_by, now=now)
        return ids

    return with_store(config, go)


def all_rows(config: Path) -> list[DeliveryRow]:
    return with_store(config, lambda store: store.list_deliveries([PENDING, DELIVERED, DEAD, "silenced"], 100))


def test_outbox_list_shows_dead_letters_by_default(config: Path, cli: Cli) -> None:
    """Without --state the list shows dead rows with their reason, then counts for every state."""
    ids = seed(config, {"a": DEAD, "b": PENDING, "c": DELIVERED})
    code, out, _ = cli("outbox", "list")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert re.match(rf"\s*{ids['a']}\s+dead\s+hook\s+attempts=1 .*Job a failed\s+\(HTTP 400\)$", lines[0])
    assert lines[1] == "pending=1 waiting=0 dead=1 silenced=0 delivered=1"


def test_outbox_list_pending_shows_the_next_attempt(config: Path, cli: Cli) -> None:
    """Pending rows show when they will be tried next and why the last attempt failed."""
    seed(config, {"b": PENDING})
    code, out, _ = cli("outbox", "list", "--state", "pending")
    assert code == 0
    assert re.search(r"pending\s+hook .*Job b failed next=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\s+\(HTTP 503\)", out)


def test_outbox_retry_requeues_and_re_enables_the_channel(config: Path, cli: Cli) -> None:
    """Retrying the dead row of a disabled channel re-queues it now, fresh, and re-enables the channel."""
    ids = seed(config, {"a": DEAD}, disable="HTTP 410: the endpoint is gone")
    _, listed, _ = cli("outbox", "list")
    assert "channel hook is disabled (HTTP 410: the endpoint is gone)" in listed
    code, out, _ = cli("outbox", "retry", str(ids["a"]))
    assert code == 0
    assert out.splitlines() == [
        f"{ids['a']} queued for delivery on hook",
        "channel hook re-enabled; its waiting deliveries resume",
    ]
    [row] = all_rows(config)
    assert (row.state, row.attempts) == (PENDING, 0)
    assert row.next_at <= datetime.now(UTC).timestamp()
    assert with_store(config, lambda store: store.disabled_channels()) == {}


def test_outbox_retry_channel_requeues_its_dead_rows_only(config: Path, cli: Cli) -> None:
    """`retry --channel` re-queues every dead row of that channel, re-enables it and leaves other rows alone."""
    seed(config, {"a": DEAD, "b": DEAD, "c": DELIVERED, "d": PENDING}, disable="HTTP 410")
    code, out, _ = cli("outbox", "retry", "--channel", "hook")
    assert (code, out) == (0, "2 dead deliveries of hook queued again; the channel is enabled\n")
    rows = {r.notification.key: r for r in all_rows(config)}
    assert [(k, rows[k].state, rows[k].attempts) for k in "abcd"] == [
        ("a", PENDING, 0),
        ("b", PENDING, 0),
        ("c", DELIVERED, 1),
        ("d", PENDING, 1),
    ]
    assert with_store(config, lambda store: store.disabled_channels()) == {}


@pytest.mark.parametrize("which", ["delivered", "unknown"])
def test_outbox_retry_refuses_delivered_or_unknown_rows(config: Path, cli: Cli, which: str) -> None:
    """A delivered row is never re-sent by hand, and an unknown id is an error; both exit 1."""
    ids = seed(config, {"c": DELIVERED})
    row_id = ids["c"] if which == "delivered" else 999
    code, out, err = cli("outbox", "retry", str(row_id))
    assert (code, out) == (1, "")
    assert f"no undelivered delivery {row_id}" in err
    assert [r.state for r in all_rows(config)] == [DELIVERED]


def test_outbox_purge_deletes_only_the_named_state(config: Path, cli: Cli) -> None:
    """`purge` removes dead rows (the default) and leaves pending and delivered ones alone."""
    seed(config, {"a": DEAD, "b": PENDING, "c": DELIVERED})
    code, out, _ = cli("outbox", "purge")
    assert (code, out) == (0, "purged 1 dead deliveries\n")
    assert sorted(r.state for r in all_rows(config)) == [DELIVERED, PENDING]
    code, out, _ = cli("outbox", "purge", "--state", "delivered")
    assert (code, out) == (0, "purged 1 delivered deliveries\n")
    assert [r.state for r in all_rows(config)] == [PENDING]


def test_silence_add_list_expire(config: Path, cli: Cli) -> None:
    """A silence is added with matchers and a comment, listed as active, expired, then listed only with --all."""
    code, out, _ = cli("silence", "add", "--match", "company=47", "--match", "rule=stalled-*", "--for", "2h",
                       "--comment", "maintenance window")  # fmt: skip
    assert code == 0
    silence_id = out.split()[0]
    _, listed, _ = cli("silence", "list")
    assert re.match(
        # `list` reads the wall clock: on a busy machine a few seconds may pass after `add`.
        rf"{silence_id}\s+active\s+left=(2h|1h59m\d{{1,2}}s)\s+suppressed=0\s+company=47 rule=stalled-\*\s+by .*: "
        "maintenance window",
        listed,
    )
    assert cli("silence", "expire", silence_id)[:2] == (0, f"{silence_id} expired\n")
    assert cli("silence", "list")[1] == "no silences\n"
    assert f"{silence_id}  expired" in cli("silence", "list", "--all")[1]
    code, _, err = cli("silence", "expire", silence_id)
    assert (code, err) == (1, f"no active silence {silence_id}\n")


@pytest.mark.parametrize(("args", "message"), [
    (["--match", "colour=red"], "unknown label 'colour'"),
    (["--match", "company"], "must look like label=value"),
    ([], "at least one --match"),
    (["--match", "company=47", "--for", "soon"], "error:"),
    (["--match", "company=47", "--for", "0s"], "longer than 0s"),
])  # fmt: skip
def test_silence_add_refuses_bad_input(config: Path, cli: Cli, args: list[str], message: str) -> None:
    """A typo in a matcher or duration is an error (exit 2), never a silence that matches nothing or everything."""
    code, _, err = cli("silence", "add", *args)
    assert code == 2
    assert message in err
    assert with_store(config, lambda store: store.silences()) == []


def test_silenced_delivery_is_stored_counted_and_retryable(config: Path, cli: Cli) -> None:
    """A silence on Slack holds back that target only: the row is kept, counted, listed and can be sent anyway."""
    silence_id = cli("silence", "add", "--match", "channel=slack", "--comment", "slack noisy")[1].split()[0]

    async def fail_a_job(store: SqliteStore) -> None:
        rules = load_rules(config.parent / "rules.yaml", ("hook", "slack"))
        composer = Composer(asyncio.Queue(), Engine(rules, []), Renderer(None), store, SystemClock())
        log = JobLog(company_handle="47", job_handle=job().job_handle, end_date=at(5), fatal_error=True)
        await composer.process([Event("job.failed", at(5), COMPANY, job(), log=log)])

    with_store(config, fail_a_job)
    assert re.search(rf"{silence_id}\s+active .*suppressed=1\s+channel=slack", cli("silence", "list")[1])
    _, silenced, _ = cli("outbox", "list", "--state", "silenced")
    [row] = [line for line in silenced.splitlines() if "slack" in line]
    assert f"(silenced by {silence_id})" in row
    assert "pending=1 waiting=0 dead=0 silenced=1 delivered=0" in silenced
    row_id = row.split()[0]
    assert cli("outbox", "retry", row_id)[0] == 0
    assert sorted((r.channel, r.state) for r in all_rows(config)) == [("hook", PENDING), ("slack", PENDING)]


def group_storm(config: Path, *, wait: float, ago: float = 0.0) -> None:
    """Two failures `ago` seconds back, each to the hook and grouped on Slack (one title carries the secret)."""
    grouping = Grouping("grp_1", "failed-publish", (("company.handle", "47"),), wait=wait, interval=600.0)
    titles = {"s1": "Job s1 failed", "s2": f"Job s2 failed with {SECRET}"}
    items = [
        Outgoing(notification(key, title=title), (Destination("hook"), Destination("slack", group=grouping)))
        for key, title in titles.items()
    ]
    with_store(config, lambda store: store.commit(items, [], [], datetime.now(UTC) - timedelta(seconds=ago)))


def test_outbox_list_shows_members_waiting_for_their_groups_digest(config: Path, cli: Cli) -> None:
    """Grouped notifications are listed as waiting (no id), with their group, channel and digest time, scrubbed."""
    group_storm(config, wait=300.0)
    code, out, _ = cli("outbox", "list", "--state", "pending")
    assert code == 0
    waiting = [line for line in out.splitlines() if " waiting " in line]
    assert len(waiting) == 2
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00"
    assert re.match(rf"\s+-\s+waiting\s+slack\s+group=grp_1 firing\s+failed-publish\s+Job s1 failed digest={stamp}$",
                    waiting[0])  # fmt: skip
    assert SECRET not in out
    assert "Job s2 failed with" in waiting[1]
    group = rf"^group grp_1 slack rule=failed-publish company.handle=47 members=2 since={stamp} digest={stamp}$"
    assert re.search(group, out, re.MULTILINE)
    assert out.splitlines()[-1] == "pending=2 waiting=2 dead=0 silenced=0 delivered=0"
    only = cli("outbox", "list", "--state", "waiting")[1].splitlines()
    assert [line for line in only if "hook" in line] == []
    assert len(only) == 4
    assert cli("outbox", "list")[1] == "pending=2 waiting=2 dead=0 silenced=0 delivered=0\n"


def test_an_overdue_group_is_named_whatever_the_listing(config: Path, cli: Cli) -> None:
    """A group whose digest was due long ago (none was made) shows up even among dead letters, as overdue."""
    group_storm(config, wait=30.0, ago=3600.0)
    _, out, _ = cli("outbox", "list")
    assert re.match(r"group grp_1 slack .*members=2 .* \(overdue: not made for over 1m\)$", out.splitlines()[0])


def test_purging_and_retrying_leave_waiting_members_to_their_digest(config: Path, cli: Cli) -> None:
    """Purging dead rows keeps what a group holds; a member has no id to retry, so `retry` names none."""
    ids = seed(config, {"a": DEAD})
    group_storm(config, wait=300.0)
    assert cli("outbox", "purge")[:2] == (0, "purged 1 dead deliveries\n")
    [member] = with_store(config, lambda store: store.waiting_members(1))
    assert member.notification.message.title == "Job s1 failed"
    assert cli("outbox", "retry", str(ids["a"]))[0] == 1
    assert "waiting=2" in cli("outbox", "list", "--state", "waiting")[1]
