"""kill -9 in the middle of delivery loses nothing: a restarted daemon sends what the dead one did not confirm.

A real `python -m notifier run` process drains 500 committed notifications to a webhook receiver on 127.0.0.1.
The receiver stops answering after a while, the process is SIGKILLed with sends on the wire, and a second
process takes over the same state file. Every webhook-id must arrive; an id seen twice must carry the same
bytes; every request must verify with the independent `standardwebhooks` implementation.
"""

from __future__ import annotations

import asyncio
import base64
import signal
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from notifier.store.records import Destination, Outgoing
from notifier.store.sqlite.store import SqliteStore
from tests.support import daemon as support
from tests.support.channels import sample_notification
from tests.support.processes import REPO
from tests.support.receiver import Receiver, serving

SECRET = "whsec_" + base64.b64encode(b"crash-test-signing-key-0123456789").decode()
TOTAL = 500
FIRST_RUN_ANSWERS = 150  # the receiver answers this many, then holds every further request open


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """Verifies and keeps every request; after FIRST_RUN_ANSWERS answers it holds requests until released."""
    holding = Receiver(secret=SECRET)
    holding.answers = FIRST_RUN_ANSWERS
    async with serving(holding) as started:
        yield started


def bodies(receiver: Receiver) -> dict[str, list[bytes]]:
    """What arrived, by webhook-id."""
    found: dict[str, list[bytes]] = defaultdict(list)
    for seen in receiver.requests:
        found[seen.headers.get("webhook-id", "")].append(seen.body)
    return found


def write_config(tmp_path: Path, url: str, ips_port: int) -> Path:
    """One company on a port nothing answers on (its polls fail, which must not matter) and one webhook."""
    channels = f'  downstream: {{type: webhook, url: "{url}", secret: "{SECRET}", timeout: 5s}}'
    ips = f"http://127.0.0.1:{ips_port}/scene7/services/IpsApiService"
    return support.write_config(tmp_path, ips, rules=None, channels=channels, log="format: json, level: warning")


async def seed(path: Path) -> None:
    store = await SqliteStore.open(path)
    try:
        items = [
            Outgoing(sample_notification(key=f"crash-{i:03d}"), (Destination("downstream"),)) for i in range(TOTAL)
        ]
        assert len(await store.commit(items, [], [], datetime.now(UTC))) == TOTAL
    finally:
        await store.close()


async def start_daemon(config: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as sink:  # a file, not a pipe: a full pipe would stall the daemon mid-test
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "notifier", "run", "--config", str(config), cwd=REPO, stdout=sink, stderr=sink
        )


async def until(condition: Callable[[], bool], limit: float, what: str, log: Path) -> None:
    """Poll `condition` every 10 ms for at most `limit` seconds; fail with the daemon's log otherwise."""
    try:
        async with asyncio.timeout(limit):
            while not condition():  # noqa: ASYNC110 - the receiver's counters are plain state
                await asyncio.sleep(0.01)
    except TimeoutError:
        output = await asyncio.to_thread(log.read_text, errors="replace")
        pytest.fail(f"timed out waiting for {what}; daemon log:\n{output[-3000:]}")


async def test_sigkill_mid_delivery_loses_nothing(receiver: Receiver, tmp_path: Path, refused: int) -> None:
    """After SIGKILL and a restart all 500 ids arrive, repeats byte-identical, every request verified."""
    config = write_config(tmp_path, receiver.url("/hook"), refused)
    await seed(tmp_path / "state.db")
    log = tmp_path / "daemon.log"

    first = await start_daemon(config, log)
    await until(lambda: receiver.held > 0, 15, "the first daemon to reach the held requests", log)
    first.send_signal(signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL
    arrived_before_kill = len(bodies(receiver))
    assert FIRST_RUN_ANSWERS < arrived_before_kill < TOTAL
    print(f"arrived before the kill: {arrived_before_kill}, held open: {receiver.held}")

    receiver.release()
    second = await start_daemon(config, log)
    await until(lambda: len(bodies(receiver)) == TOTAL, 15, "every webhook-id to arrive", log)
    second.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(second.wait(), 10) == 0

    assert receiver.invalid == []
    arrived = bodies(receiver)
    assert set(arrived) == {f"crash-{i:03d}" for i in range(TOTAL)}
    repeated = {msg_id: sent for msg_id, sent in arrived.items() if len(sent) > 1}
    assert repeated, "the kill happened with sends on the wire, so some ids must have been sent again"
    assert all(len(set(sent)) == 1 for sent in repeated.values())
    store = await SqliteStore.open(tmp_path / "state.db")
    try:
        stats = await store.stats()
    finally:
        await store.close()
    assert (stats.delivered, stats.pending, stats.dead) == (TOTAL, 0, 0)
