"""The /status page as served: the simulator's jobs with progress and stall time, dead letters, escaping, and
nothing loaded from anywhere but the daemon itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

import notifier.web
from tests.support.window import INTERVAL, Window

HOSTILE = '<script>alert("owned")</script>'


class Links(HTMLParser):
    """Every URL the page would make the browser fetch or follow, and every element by tag."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls.extend(value or "" for name, value in attrs if name in ("src", "href", "action", "content"))


def text_of(html: str) -> str:
    """The page's visible text with tags removed and whitespace collapsed, to match phrases in it."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def page(window: Window) -> str:
    status, html = await window.get("/status")
    assert status == 200
    return html


async def test_page_shows_the_simulators_jobs_with_progress_and_stall_time(window: Window) -> None:
    """Every active job of the simulator appears with its progress bar and how long it has not progressed."""
    await window.poll()
    await window.poll(after=INTERVAL)
    html = await page(window)
    for company in ("47", "311", "118"):
        for job in window.sim.world.active_jobs(company, "en-US"):
            assert f'<span class="job-name">{job.original_name}</span>' in html
            assert f'<progress max="100" value="{job.progress}"' in html
    text = text_of(html)
    assert "stalled 15m 28s" in text  # Lumière's banners: last progress 08:45:02, now 09:00:30
    assert "Firing alerts 1" in text


async def test_job_names_are_escaped(window: Window) -> None:
    """A job named like markup is shown as text: no element is created from it."""
    window.add_job(HOSTILE)
    await window.poll()
    await window.poll(after=INTERVAL)
    html = await page(window)
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in html
    parser = Links()
    parser.feed(html)
    assert parser.tags.count("script") == 1  # the page's own, from /assets


async def test_page_loads_nothing_from_other_hosts(window: Window) -> None:
    """Every asset is the daemon's own (relative URLs or data:), and the CSP forbids anything else."""
    await window.poll()
    async with window.session.get(window.url("/status")) as response:
        policy = response.headers["Content-Security-Policy"]
        html = await response.text()
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    parser = Links()
    parser.feed(html)
    urls = [u for u in parser.urls if "/" in u or ":" in u]
    assert urls
    assert not [u for u in urls if re.match(r"^(https?:)?//", u)]
    for asset in ("assets/status.css", "assets/status.js"):
        status, body = await window.get(f"/{asset}")
        assert status == 200
        assert len(body) > 500


async def test_page_refreshes_itself(window: Window) -> None:
    """The page refreshes on its own: by script, and by meta refresh when scripts are off."""
    html = await page(window)
    assert 'data-refresh="10"' in html
    assert '<noscript><meta http-equiv="refresh" content="10"></noscript>' in html


async def test_not_ready_banner_lists_the_reasons(window: Window) -> None:
    """When the daemon is not ready the page says so at the top, with each reason."""
    html = await page(window)
    text = text_of(html)
    assert "✕ Not ready" in text
    assert "company 311: no successful poll yet" in text


async def test_dead_letters_and_silences_are_visible(window: Window) -> None:
    """Dead-lettered deliveries have their own list with the error; silences show what they hold back."""
    await window.silence_pager()
    await window.poll()
    await window.poll(after=INTERVAL)
    html = await page(window)
    dead = html.split('id="dead-letters"', 1)[1].split("<h3>", 1)[0]
    assert dead.count('<span class="tag tag-bad">dead</span>') == 2
    assert "Slack invalid_payload (HTTP 400)" in dead
    silences = text_of(html.split('id="silences"', 1)[1])
    assert "channel=pager" in silences
    assert "pager maintenance" in silences


async def test_times_are_relative_and_absolute(window: Window) -> None:
    """A poll time is shown both as time ago and as UTC wall time, with a machine-readable datetime."""
    await window.poll()
    window.advance(125)
    html = await page(window)
    assert '<time datetime="2026-03-02T09:00:00+00:00" title="09:00:00 UTC">2m 05s ago</time>' in html
    assert '<span class="abs">09:00:00 UTC</span>' in html


async def test_long_tables_are_cut_with_a_pointer_to_the_api(window: Window, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the per-table limit the page shows the worst rows and links to the API for all of them."""
    monkeypatch.setattr(notifier.web, "MAX_ROWS", 2)
    await window.poll()
    html = await page(window)
    total = sum(len(window.sim.world.active_jobs(c, "en-US")) for c in ("47", "311", "118"))
    assert total > 2
    assert html.count('<tr class="job') == 2
    assert f"Showing the 2 longest without progress of {total}; all of them: api/jobs" in text_of(html)
