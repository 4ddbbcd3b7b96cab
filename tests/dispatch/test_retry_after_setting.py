"""`delivery.max_retry_after`: how long a receiver's Retry-After is honoured, set in the config and on reload."""

from __future__ import annotations

from pathlib import Path

from notifier.app.daemon import Daemon
from notifier.config import load_config
from notifier.runtime.clock import ManualClock
from notifier.store.records import PENDING, Destination, Outgoing
from tests.support import daemon as support
from tests.support.channels import sample_notification
from tests.support.receiver import Receiver, Reply
from tests.support.sim import START
from tests.support.store import sqlite_store

SECRET = "whsec_cmV0cnktYWZ0ZXItc2V0dGluZy10ZXN0LWtleQ=="
UNREACHABLE = "http://127.0.0.1:9/ips"  # never asked: the test polls nothing


def write_config(tmp_path: Path, receiver: Receiver, cap: str) -> Path:
    """A webhook whose receiver is down for maintenance and asks to be left alone for a day."""
    receiver.always["/hook"] = Reply(503, {"Retry-After": "86400"})
    channels = f'  hook: {{type: webhook, url: "{receiver.url()}", secret: "{SECRET}"}}'
    delivery = f"delivery: {{max_retry_after: {cap}}}\n"
    return support.write_config(tmp_path, UNREACHABLE, rules=None, channels=channels, extra=delivery)


async def next_wait(daemon: Daemon, clock: ManualClock) -> float:
    """Attempt every due delivery now; seconds until the one pending row is tried again."""
    await daemon.dispatcher.flush()
    [row] = await daemon.store.list_deliveries([PENDING])
    return row.next_at - clock.now().timestamp()


async def test_retry_after_is_honoured_up_to_the_configured_cap_which_a_reload_changes(
    receiver: Receiver, tmp_path: Path
) -> None:
    """A day's Retry-After waits `max_retry_after` (plus at most 2 s of jitter); a reload's new cap applies next."""
    path = write_config(tmp_path, receiver, "2m")
    config = load_config(path)
    assert config.delivery.max_retry_after == 120
    clock = ManualClock(START)
    async with sqlite_store(config.state_location.path) as store:
        await store.commit([Outgoing(sample_notification(created_at=START), (Destination("hook"),))], [], [], START)
    async with Daemon.open(config, clock=clock, polling=False) as daemon:
        assert 120 <= await next_wait(daemon, clock) <= 122
        path.write_text(path.read_text(encoding="utf-8").replace("2m", "10m"), encoding="utf-8")
        assert await daemon.reloader.reload(path)
        clock.advance(122)
        assert 600 <= await next_wait(daemon, clock) <= 602
