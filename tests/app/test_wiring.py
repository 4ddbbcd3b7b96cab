"""The config turned into stage settings: the renderer knows which channels send HTML."""

from __future__ import annotations

from pathlib import Path

from notifier.app.wiring import renderer
from notifier.config import load_config
from tests.support.daemon import CONSOLE, write_config

MAIL = "  mail: {type: email, host: 127.0.0.1, port: 2525, sender: n@example.com, to: [ops@example.com]}"


def test_only_email_channels_get_the_html_part(tmp_path: Path) -> None:
    """The daemon's renderer renders HTML for the configured email channels, and for no other."""
    config = load_config(write_config(tmp_path, "http://127.0.0.1:9/", channels=f"{CONSOLE}\n{MAIL}"))
    assert renderer(config).html_channels == frozenset({"mail"})
