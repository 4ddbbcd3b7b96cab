"""Parsing a 1,000-job getActiveJobs response: ours against zeep and against a bare lxml parse of the same bytes.

    .venv/bin/python benchmarks/bench_parse.py [--quick]

The response is rendered by the simulator's renderer from the `scale` scenario. zeep is driven by the
simulator's WSDL (from `wsdl()`) and deserializes the same bytes through its own SOAP binding, as it would an
HTTP answer. The design asks for at least 10× zeep's speed and at most 3× a bare `lxml.etree.fromstring`.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

import requests
import zeep
from harness import API_VERSION, Row, best_of, best_of_each, fleet, fmt, machine, options, report, settle
from lxml import etree

from notifier.ips import parse, render
from notifier.ips.simulator.server import SERVICE_PATH
from notifier.ips.simulator.wsdl import wsdl

JOBS = 1000


def response() -> bytes:
    world = fleet(companies=1, jobs=JOBS)
    jobs = world.active_jobs(next(iter(world.companies)), "en-US")
    assert len(jobs) == JOBS, len(jobs)
    return render.render_active_jobs(jobs, API_VERSION)


def zeep_reader(workdir: Path) -> Any:
    """zeep's reply path for getActiveJobs (SOAP binding → operation → schema types), bytes in."""
    path = workdir / f"IpsApi-{API_VERSION}.wsdl"
    path.write_bytes(wsdl(API_VERSION, f"http://127.0.0.1:9{SERVICE_PATH}"))
    client = zeep.Client(str(path))  # type: ignore[no-untyped-call]
    binding = client.service._binding
    operation = binding.get("getActiveJobs")

    def read(data: bytes) -> Any:
        reply = requests.models.Response()
        reply.status_code, reply._content = 200, data
        reply.headers["Content-Type"] = "text/xml; charset=UTF-8"
        return binding.process_reply(client, operation, reply)

    return read


def main() -> None:
    args = options(__doc__.splitlines()[0])
    data = response()
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zeep's own deprecation noise is not ours to report
        zeep_read = zeep_reader(Path(tmp))
        ours = parse.parse_active_jobs(data)
        theirs = zeep_read(data)
        assert [j.job_handle for j in ours] == [j["jobHandle"] for j in theirs], "zeep and we disagree"
        repeats = 5 if args.quick else 25
        settle()
        ours_s, lxml_s = best_of_each([lambda: parse.parse_active_jobs(data), lambda: etree.fromstring(data)], repeats)
        zeep_s = best_of(lambda: zeep_read(data), max(2, repeats // 5))
    rows = [
        Row("parse 1,000 jobs, against zeep", ours_s, "s", zeep_s, "(zeep)", zeep_s / ours_s, (">=", 10.0), True),
        Row("parse 1,000 jobs, against bare lxml", ours_s, "s", lxml_s, "(lxml)", ours_s / lxml_s, ("<=", 3.0), True),
    ]
    notes = [
        f"response: {fmt(len(data), 'B')}, {JOBS} jobs; best of {repeats} runs each, ours and lxml's taken in turn "
        f"({machine()})",
        "ratio: zeep's time over ours (speed-up); ours over a bare lxml.etree.fromstring (cost over parsing alone)",
    ]
    report("Parsing getActiveJobs", rows, notes, args.json)


if __name__ == "__main__":
    main()
