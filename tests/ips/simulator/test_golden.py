"""The simulator's answers on the wire, byte for byte, against golden digests recorded from a known-good build.

Each world (scenario, body namespace prefix) is walked through simulated time; at every stop it is asked
every operation with filters, locales (authHeader and Accept-Language), gzip and identity encodings, and the
faults it raises. What is compared is what the client receives before decoding: status, Content-Type,
Content-Encoding, whether the body was chunked, and the SHA-256 of the raw body. A change in any byte the
simulator sends — element order, prefixes, omitted elements, dateTimes, localized messages, compression —
shows here as the cases that moved.

When a scenario or the protocol changes on purpose, record new digests with
`NOTIFIER_UPDATE_GOLDEN=1 .venv/bin/pytest tests/ips/test_sim_golden.py` and review the diff.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from notifier.ips.envelope import AuthHeader, build_request
from notifier.ips.simulator.chaos import FaultSpec
from notifier.ips.simulator.world import World
from tests.support.sim import PASSWORD, START, USER, Sim, StartSim

GOLDEN = Path(__file__).with_name("golden") / "sim_responses.json"
UPDATE = os.environ.get("NOTIFIER_UPDATE_GOLDEN") == "1"
VERSION = "2014-04-03"
LOCALES = ("en-US", "de-DE", "ja-JP", "zh-CN", "fr-FR")


@dataclass(frozen=True)
class Call:
    """One request: operation and parameters, and how it is asked (credentials, locale, encoding)."""

    operation: str
    params: tuple[tuple[str, Any], ...] = ()
    locale: str | None = None
    accept_language: str | None = None
    gzip: bool = True
    user: str = USER
    password: str = PASSWORD
    version: str = VERSION
    fault_status: int | None = None

    def envelope(self) -> bytes:
        auth = AuthHeader(self.user, self.password, locale=self.locale, fault_http_status_code=self.fault_status)
        return build_request(self.operation, self.params, auth, self.version)

    def headers(self) -> dict[str, str]:
        headers = {"SOAPAction": self.operation, "Accept-Encoding": "gzip" if self.gzip else "identity"}
        if self.accept_language is not None:
            headers["Accept-Language"] = self.accept_language
        return headers


# (scenario, options, prefix, seconds to advance before each round of calls)
WORLDS: dict[str, tuple[str, dict[str, int], str | None, tuple[float, ...]]] = {
    "demo-ns1": ("demo", {}, "ns1", (0, 3, 21.5, 45, 75, 400)),
    "demo-default": ("demo", {}, None, (0, 7, 40, 300)),
    "locales-ns1": ("locales", {}, "ns1", (0, 2.5, 12, 40)),
    "failure-default": ("failure", {}, None, (0, 9, 30)),
    "warnings-ns1": ("warnings", {}, "ns1", (1, 15, 40)),
    "stall-default": ("stall", {}, None, (0, 20, 45, 3 * 86400)),
    "progress-ns1": ("progress", {}, "ns1", (0, 33, 120, 900)),
    "scale-ns1": ("scale", {"companies": 3, "jobs": 12}, "ns1", (0, 2, 31, 333, 1200)),
    "scale-default": ("scale", {"companies": 2, "jobs": 9}, None, (0, 45, 700)),
}


def round_calls(world: World, stop: int) -> Iterator[Call]:
    """What a round asks at one stop: every operation, filtered and not, in rotating locales."""
    companies = sorted(world.companies)[:3]
    locale = LOCALES[stop % len(LOCALES)]
    active = world.active_jobs(None, "en-US")
    yield Call("getActiveJobs")
    yield Call("getActiveJobs", (("companyHandle", companies[0]), ("includeWaitingJobs", False)), locale, gzip=False)
    if active:
        job = active[len(active) // 2]
        yield Call("getActiveJobs", (("jobHandle", job.job_handle),), accept_language="de-DE, en;q=0.5")
        yield Call("getActiveJobs", (("originalName", job.original_name),), "fr-FR", version="2013-02-15")
    yield Call("getJobLogs", gzip=stop % 2 == 0)
    since = START - timedelta(minutes=30) + timedelta(seconds=20 * stop)
    yield Call("getJobLogs", (("companyHandle", companies[-1]), ("startDate", since), ("sortBy", "FileErrorCount"),
                              ("sortDirection", "Descending"), ("numRows", 3)))  # fmt: skip
    yield Call("getJobLogs", (("endDate", START + timedelta(hours=1)), ("sortBy", "CompanyName")), version="")
    for n, company in enumerate(companies):
        yield Call("getJobLogDetails", (("companyHandle", company),), LOCALES[(stop + n) % len(LOCALES)])
    yield Call("getJobLogDetails", (("companyHandle", companies[0]), ("recordsPerPage", 4), ("resultsPage", 2),
                                    ("sortBy", "LogType"), ("sortDirection", "Descending")),
               accept_language="ja;q=0.9, zh-CN")  # fmt: skip
    families = [f"{family}{suffix}" for family in ("ImageServingPublish", "Upload") for suffix in ("Error", "Warning")]
    yield Call("getJobLogDetails", (("companyHandle", companies[-1]), ("logTypeArray", families)), locale, gzip=False)
    yield Call("getCompanyInfo", (("companyHandle", companies[0]),))
    yield Call("getCompanyInfo", (("companyName", world.companies[companies[-1]].name),), gzip=False)
    for company in companies:
        yield Call("getScheduledJobs", (("companyHandle", company),))


FAULTS = (
    Call("getActiveJobs", password="wrong"),
    Call("getActiveJobs", user="nobody@example.com", fault_status=200),
    Call("getActiveJobs", user="noaccess@example.com"),
    Call("getJobLogs", (("numRows", "many"),)),
    Call("getJobLogs", (("sortBy", "Colour"),), gzip=False),
    Call("getJobLogDetails"),
    Call("getActiveJobs", (("companyHandle", "no-such-company"),)),
    Call("getCompanyInfo", (("companyName", "No Such Company"),)),
)


async def fetch(session: aiohttp.ClientSession, sim: Sim, call: Call) -> str:
    """The answer as the wire carried it: status, type, encoding, framing and the raw body's digest."""
    async with session.post(sim.endpoint, data=call.envelope(), headers=call.headers()) as resp:
        body = await resp.read()
        framing = "chunked" if resp.headers.get("Transfer-Encoding") == "chunked" else "length"
        encoding = resp.headers.get("Content-Encoding", "identity")
        kind = resp.headers.get("Content-Type")
    return f"{resp.status} {kind} {encoding} {framing} {len(body)} {hashlib.sha256(body).hexdigest()}"


async def record(start_sim: StartSim, name: str) -> dict[str, str]:
    """Every case of one world, keyed by where in the walk it was asked."""
    scenario, options, prefix, stops = WORLDS[name]
    sim = await start_sim(scenario, prefix=prefix, **options)
    answers: dict[str, str] = {}
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        for stop, seconds in enumerate(stops):
            sim.world.advance(seconds)
            for n, call in enumerate(round_calls(sim.world, stop)):
                answers[f"{name}/t{stop}/{n:02d} {call.operation}"] = await fetch(session, sim, call)
        for n, call in enumerate(FAULTS):
            answers[f"{name}/fault/{n:02d} {call.operation}"] = await fetch(session, sim, call)
        sim.world.chaos.inject(FaultSpec("truncated"))
        answers[f"{name}/truncated"] = await fetch(session, sim, Call("getActiveJobs"))
    return answers


def load_golden() -> dict[str, str]:
    return dict(json.loads(GOLDEN.read_text(encoding="utf-8"))) if GOLDEN.exists() else {}


@pytest.mark.parametrize("name", list(WORLDS))
async def test_the_simulator_sends_the_recorded_bytes(start_sim: StartSim, name: str) -> None:
    """Every answer of this world, raw on the wire, matches the digest recorded for it."""
    answers = await record(start_sim, name)
    golden = load_golden()
    if UPDATE:
        golden = {k: v for k, v in golden.items() if not k.startswith(f"{name}/")} | answers
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(dict(sorted(golden.items())), indent=0) + "\n", encoding="utf-8")
    expected = {k: v for k, v in golden.items() if k.startswith(f"{name}/")}
    moved = sorted(k for k in answers.keys() | expected.keys() if answers.get(k) != expected.get(k))
    assert not moved, f"{len(moved)} of {len(answers)} answers differ from the recording, first: {moved[:5]}"


def test_the_recording_covers_every_operation_and_both_encodings() -> None:
    """The golden file holds gzip and identity answers, chunked and not, for all five operations."""
    values = load_golden()
    keys = " ".join(values)
    for operation in ("getActiveJobs", "getJobLogs", "getJobLogDetails", "getCompanyInfo", "getScheduledJobs"):
        assert operation in keys
    records = " ".join(values.values())
    assert all(f" {word} " in records for word in ("gzip", "identity", "chunked", "length"))
    assert len(values) > 500
