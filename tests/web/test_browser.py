"""The status page in a real browser: headless Chromium renders a live daemon's page from 127.0.0.1.

`--dump-dom` gives the DOM after scripts ran; `--screenshot` keeps a PNG under test-artifacts/ for people to
look at. Without Chromium these tests skip, unless NOTIFIER_REQUIRE_BROWSER=1 (CI), where that is a failure.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import notifier.web
from notifier.web.source import StatusSource
from tests.support.window import INTERVAL, Window

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WIDTH, HEIGHT = 1440, 1700
BROWSER_TIMEOUT = 45.0
# Without these Chromium tries to reach Google services, which a closed network refuses (slowly).
QUIET = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
    "--hide-scrollbars", "--force-device-scale-factor=1",
)  # fmt: skip


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("NOTIFIER_REQUIRE_BROWSER") == "1":
        pytest.fail("chromium is required (NOTIFIER_REQUIRE_BROWSER=1) but not installed; apt-get install chromium")
    pytest.skip("chromium is not installed")


@pytest.fixture
def browser(tmp_path: Path) -> Browser:
    """Chromium with a fresh profile, found before the test builds anything (or the test skips or fails)."""
    return Browser(chromium(), tmp_path / "profile")


@dataclass(frozen=True)
class Browser:
    executable: str
    profile: Path

    async def run(self, *args: str) -> str:
        return await run_browser(self.executable, self.profile, *args)


async def run_browser(executable: str, profile: Path, *args: str) -> str:
    """Run Chromium to completion (bounded); its stdout."""
    proc = await asyncio.create_subprocess_exec(
        executable, *QUIET, f"--user-data-dir={profile}", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), BROWSER_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        pytest.fail(f"chromium did not finish within {BROWSER_TIMEOUT:g}s")
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


async def busy_window(window: Window) -> None:
    """Jobs in every stage, a stalled one, a hostile name, deliveries of every state and a silence."""
    window.add_job('<img src=x onerror="document.title=1">')
    await window.silence_pager()
    await window.poll()
    await window.poll(after=INTERVAL)


async def test_rendered_dom_has_the_jobs_progress_and_stall_time(window: Window, browser: Browser) -> None:
    """In the DOM Chromium built, every simulator job is there with its progress and time without progress."""
    await busy_window(window)
    dom = await browser.run(f"--window-size={WIDTH},{HEIGHT}", "--dump-dom", window.url("/status"))
    for company in ("47", "311", "118"):
        for job in window.sim.world.active_jobs(company, "en-US"):
            if not job.original_name or job.original_name.startswith("<img"):
                continue
            assert f'<span class="job-name">{job.original_name}</span>' in dom
            assert re.search(rf'<progress max="100" value="{job.progress}" aria-label="Progress of [^"]*">', dom)
    assert '<span class="stalled-for">15m 28s</span>' in dom
    assert "<title>▲ 1 firing · dmc-notifier</title>" in dom  # the hostile onerror never ran
    assert "&lt;img src=x onerror=" in dom
    assert 'id="pause"' in dom
    assert 'id="pause" aria-pressed="false" hidden' not in dom


async def test_screenshot_is_kept_and_shows_a_real_page(window: Window, browser: Browser) -> None:
    """A screenshot of the page is written to test-artifacts/ and is a real, varied picture of the right size."""
    await busy_window(window)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "status-page.png"
    shot.unlink(missing_ok=True)
    await browser.run(f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", window.url("/status"))
    width, height, busy = png_summary(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    assert shot.stat().st_size > 30_000
    assert busy > 0.02  # text, tags and bars everywhere: a blank page scores about 0


async def test_page_refreshes_itself_in_the_browser(
    window: Window, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Left open, the page fetches itself again every 10 s and swaps the new state in (virtual time)."""
    await busy_window(window)
    served = count_pages(monkeypatch)
    dom = await browser.run("--virtual-time-budget=25000", "--dump-dom", window.url("/status"))
    assert len(served) >= 3  # the load, then one refresh per 10 s of virtual time
    assert '<span class="job-name">Holiday assets</span>' in dom
    assert 'id="offline" class="tag tag-bad" hidden=""' in dom


async def test_page_keeps_the_last_state_when_the_daemon_stops_answering(
    window: Window, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a refresh fails the page keeps showing what it knew, marked as not answering."""
    await busy_window(window)
    served = count_pages(monkeypatch, fail_after=1)
    dom = await browser.run("--virtual-time-budget=15000", "--dump-dom", window.url("/status"))
    assert len(served) >= 2
    assert '<span class="job-name">Holiday assets</span>' in dom
    assert 'id="offline" class="tag tag-bad" hidden' not in dom
    assert '<body data-refresh="10" class="offline">' in dom


def count_pages(monkeypatch: pytest.MonkeyPatch, fail_after: int | None = None) -> list[int]:
    """Count status page renders; after `fail_after` of them, answer 503 as a daemon in trouble would."""
    served: list[int] = []
    real = notifier.web.snapshot

    async def counting(source: StatusSource) -> dict[str, Any]:
        served.append(len(served))
        if fail_after is not None and len(served) > fail_after:
            raise web.HTTPServiceUnavailable()
        return await real(source)

    monkeypatch.setattr(notifier.web, "snapshot", counting)
    return served


def png_summary(data: bytes) -> tuple[int, int, float]:
    """Width, height and the share of non-zero bytes in the filtered image data.

    PNG filters turn runs of one colour into zeros, so a blank page decodes to almost nothing but zeros while
    a page of text, tags and bars does not; this tells them apart without decoding every pixel.
    """
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    header, idat, pos = b"", b"", 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height = struct.unpack(">II", header[:8])
    raw = zlib.decompress(idat)
    return width, height, 1 - raw.count(0) / len(raw)
