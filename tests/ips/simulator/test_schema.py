"""The simulator is as strict as IPS: its WSDL follows Adobe's published schema (element order, `items` in every
array, required elements), and every answer of every scenario validates against that WSDL's schema."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree

from notifier.ips.envelope import api_namespace
from notifier.ips.simulator import answers as render
from notifier.ips.simulator.messages import LOCALES
from notifier.ips.simulator.scenarios import SCENARIOS, build_scenario
from notifier.ips.simulator.world import World
from notifier.ips.simulator.wsdl import wsdl
from tests.support.sim import START

VERSION = "2014-04-03"
XSD = "http://www.w3.org/2001/XMLSchema"
STOPS = (0.0, 1.5, 4.0, 17.0, 33.0, 61.0, 240.0)  # seconds to advance: queued, running, ended, spawned
# The large scenarios in a size that still has every job type; their full size runs in `make test-slow`.
SMALL = {"scale": {"companies": 3, "jobs": 8}, "fleet": {"companies": 3, "jobs": 20}}
WORLDS = [
    *[pytest.param(name, SMALL.get(name, {}), id=name) for name in SCENARIOS],
    *[pytest.param(name, {}, id=f"{name}-full", marks=pytest.mark.slow) for name in SMALL],
]
Validate = Callable[[bytes], list[str]]


def versioned_schema() -> etree._Element:
    """The WSDL's schema of the versioned namespace, with its namespace declarations."""
    doc = etree.fromstring(wsdl(VERSION, "http://127.0.0.1/scene7/services/IpsApiService"))
    (schema,) = [s for s in doc.iter(f"{{{XSD}}}schema") if s.get("targetNamespace") == api_namespace(VERSION)]
    return etree.fromstring(etree.tostring(schema))  # serialized standalone: QName prefixes stay declared


@pytest.fixture(scope="module")
def validate() -> Validate:
    """Validates the `<operationReturn>` of a response body; returns the schema's complaints."""
    schema = etree.XMLSchema(versioned_schema())

    def check(body: bytes) -> list[str]:
        returned = etree.fromstring(body)[0][0]  # Envelope / Body / <operationReturn>
        return [] if schema.validate(returned) else str(schema.error_log).splitlines()

    return check


def element(type_name: str) -> list[tuple[str, bool]]:
    """(element name, required) of a complex type of the WSDL, in order."""
    schema = versioned_schema()
    (complex_type,) = schema.iterfind(f"{{{XSD}}}complexType[@name='{type_name}']")
    return [(e.get("name") or "", e.get("minOccurs") != "0") for e in complex_type.iter(f"{{{XSD}}}element")]


@pytest.mark.parametrize(("scenario", "options"), WORLDS)
def test_every_answer_of_every_scenario_follows_the_published_schema(
    scenario: str, options: dict[str, int], validate: Validate
) -> None:
    """Active jobs (video tasks included), logs, details in every locale, companies and schedules all validate."""
    world = World(build_scenario(scenario, **options), seed=3, speed=0.0, start=START)
    problems: list[tuple[str, float, list[str]]] = []
    for n, seconds in enumerate(STOPS):
        world.advance(seconds)
        locale, handles = LOCALES[n % len(LOCALES)], sorted(world.companies)
        answers: list[tuple[str, Any]] = [
            ("render_active_jobs", world.active_jobs(None, locale)),
            ("render_job_logs", world.job_logs(None)),
            *[("render_job_log_details", world.job_log_details(h, locale=locale)) for h in handles],
            *[("render_company_info", world.company_info(h)) for h in handles],
            *[("render_scheduled_jobs", world.scheduled_jobs(h, None, None)) for h in handles],
        ]
        for function, models in answers:
            if errors := validate(getattr(render, function)(models, VERSION, "ns1")):
                problems.append((function, seconds, errors[:3]))
    assert problems == []


def test_the_validation_is_real(validate: Validate) -> None:
    """An active job without its required triggerTime, or with task progress as `item`, is refused."""
    world = World(build_scenario("demo"), seed=3, speed=0.0, start=START)
    world.advance(20)
    body = render.render_active_jobs(world.active_jobs(None, "en-US"), VERSION, "ns1")
    assert validate(body) == []
    assert validate(body.replace(b"<ns1:triggerTime>", b"<ns1:x>").replace(b"</ns1:triggerTime>", b"</ns1:x>"))
    assert b"<ns1:taskProgressArray><ns1:items>" in body

    def as_item(match: re.Match[bytes]) -> bytes:
        return match.group(0).replace(b"ns1:items>", b"ns1:item>")

    assert validate(re.sub(rb"<ns1:taskProgressArray>.*?</ns1:taskProgressArray>", as_item, body))


def test_the_wsdl_follows_adobe_s_order_and_required_elements() -> None:
    """triggerTime is required after startDate, taskState is TaskProgress's second child, dateCreated follows
    logType in a log detail, task items are itemName/progress/progressMessage/lastProgressUpdate."""
    active = element("ActiveJob")
    names = [name for name, _ in active]
    assert names[names.index("startDate") + 1] == "triggerTime"
    assert dict(active)["triggerTime"] is True
    assert {name for name, needed in active if not needed} >= {"locale", "description"}
    assert [name for name, _ in element("TaskProgress")][:2] == ["taskType", "taskState"]
    assert all(needed for _, needed in element("TaskProgress"))
    assert element("TaskItemProgress") == [
        ("itemName", True),
        ("progress", True),
        ("progressMessage", True),
        ("lastProgressUpdate", True),
    ]
    assert [name for name, _ in element("JobLogDetail")][:3] == ["logMessage", "logType", "dateCreated"]
    assert element("TaskProgressArray") == [("items", False)]
    assert element("TaskItemProgressArray") == [("items", False)]
    assert {"metadataPublishJob", "createVideoSitemapJob", "automatedSetGenerationJob"} <= set(names)
