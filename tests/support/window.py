"""A daemon with its operator's window served on 127.0.0.1 (port 0), on the simulator, delivering to the suite's
webhook receiver through endpoints per behaviour (accepts, refuses for good, is busy), so the window has
delivered, dead-lettered, retrying and silenced rows to show."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from notifier.config import Config
from notifier.ips.simulator.scenarios import JobSpec
from notifier.runtime.clock import ManualClock
from tests.support.daemon import Harness, daemon_config
from tests.support.receiver import Receiver, Reply
from tests.support.sim import START, Sim

SECRET = "whsec_b3BlcmF0b3Itd2luZG93LXRlc3Qta2V5"
INTERVAL = 30.0  # the poll interval `daemon_config` writes
COMPANIES = ("47", "311", "118")  # Planetary, Lumière Maison (a job stalled since before START), Nordwind
RULES = """
- name: job-started
  on: job.started
  severity: info
  notify: [{channel: hook}, {channel: broken}]
- name: stalled-progress
  on: job.active
  where: job.state == "Running" and job.stalled_seconds >= 900
  severity: warning
  notify: [{channel: busy}, {channel: pager}]
"""


def window_config(
    tmp_path: Path, sim: Sim, receiver: Receiver, companies: tuple[str, ...] = COMPANIES, grace: str = "2s"
) -> Config:
    """The rules above; `hook` and `pager` accepted (/ok), `busy` overloaded (/busy, 503), `broken` a Slack
    incoming webhook that refuses every message for good (/dead, 400 `invalid_payload`); the window served."""
    receiver.always["/busy"] = Reply(503)
    receiver.always["/dead"] = Reply(400, text="invalid_payload")
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    # A company is a handle, or a YAML mapping as written in the config (e.g. `{name: "Nordwind Moden"}`).
    listed = ", ".join(c if c.startswith("{") else f'{{handle: "{c}"}}' for c in companies)
    paths = {"hook": "/ok", "busy": "/busy", "pager": "/ok"}
    hooks = [
        f'  {name}: {{type: webhook, url: "{receiver.url(path)}", secret: {SECRET}}}' for name, path in paths.items()
    ]
    hooks.append(f'  broken: {{type: slack, webhook_url: "{receiver.url("/dead")}", rate_limit: 1000}}')
    return daemon_config(
        tmp_path, sim, companies=f"[{listed}]", rules="rules.yaml", grace=grace,
        channels="\n".join(hooks), http='listen: "127.0.0.1:0"',
    )  # fmt: skip


class Window(Harness):
    """The harness, with what window tests do besides polling and reading pages."""

    def __init__(self, sim: Sim, config: Config, receiver: Receiver) -> None:
        super().__init__(sim, config, ManualClock(START))
        self.receiver = receiver

    async def silence_pager(self) -> None:
        """A maintenance window on the pager channel: its deliveries are kept, marked silenced, never sent."""
        await self.daemon.store.add_silence(
            [("channel", "pager")], START, START + timedelta(hours=2), "pager maintenance", "ops@example.com"
        )

    def add_job(self, name: str, company: str = "47", run: float = 600.0) -> None:
        self.sim.world.add_job(JobSpec(company, "ImageServingPublish", "success", name, run=run, files=20))
