"""The window tests' daemon: started (polling left to the test) on the demo scenario, nothing polled yet."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.receiver import Receiver
from tests.support.sim import StartSim
from tests.support.window import Window, window_config


@pytest.fixture
async def window(start_sim: StartSim, receiver: Receiver, tmp_path: Path) -> AsyncIterator[Window]:
    sim = await start_sim("demo")
    served = Window(sim, window_config(tmp_path, sim, receiver), receiver)
    async with served.running():
        yield served
