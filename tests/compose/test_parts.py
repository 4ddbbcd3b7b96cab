"""Template parts rendered by `Parts` read exactly as `Template.render` writes them, errors included."""

from __future__ import annotations

import traceback
from datetime import timedelta

import pytest
from jinja2 import Environment, Template

from notifier.compose.parts import Parts
from notifier.compose.render import PARTS, Renderer, candidates
from notifier.i18n import SUPPORTED
from notifier.models import Event
from tests.support.i18n import T0, company, decision, failed_publish, job, warning_decision

RENDERER = Renderer()


def _decisions(locale: str) -> list[object]:
    stalled = Event("job.active", T0 + timedelta(hours=1), company(locale), job(locale), stalled_seconds=4000.0)
    return [failed_publish(locale), warning_decision(locale, 3), decision(stalled, name="stalled-progress")]


@pytest.mark.parametrize("locale", SUPPORTED)
def test_every_built_in_part_reads_as_template_render_writes_it(locale: str) -> None:
    """For each locale, each part and several notifications, the same text as `Template.render`."""
    parts = Parts()
    env = RENDERER.environment(locale, builtin=True)
    for made in _decisions(locale):
        context = RENDERER.context(made, locale)  # type: ignore[arg-type]
        for part in PARTS:
            template = env.get_template(candidates("x", locale, part)[-1])
            expected = template.render(context)
            assert parts.render(template, context) == expected
            context[part] = expected


def test_a_failing_template_raises_what_template_render_raises_with_its_line() -> None:
    """The error, and the template line its traceback points at, are the ones `Template.render` gives."""
    env = Environment(autoescape=True)
    template = env.from_string("line one\n{{ 1 // zero }}")
    with pytest.raises(ZeroDivisionError) as reference:
        template.render(zero=0)
    with pytest.raises(ZeroDivisionError) as ours:
        Parts().render(template, {"zero": 0})
    lines = [[f.lineno for f in traceback.extract_tb(e.tb) if f.filename == "<template>"] for e in (reference, ours)]
    assert lines[0] == lines[1] == [2]


def test_choose_loads_a_template_once_per_key() -> None:
    """The lookup chain is walked the first time a key is asked for, not on every notification."""
    parts, loads = Parts(), []
    template = Environment(autoescape=True).from_string("x")

    def load() -> Template:
        loads.append(template)
        return template

    for _ in range(3):
        assert parts.choose(("rule", "en-US", "title", False), load) is template
    assert loads == [template]
