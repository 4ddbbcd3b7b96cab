"""The Jinja internals behind the fast paths (`engine.jinja`) are still there and still mean what they meant.

Each check names what `PreparedTemplate` or `ExpressionRunner` uses instead of Jinja's public call; when a Jinja
release renames or changes one of them, this fails here, loudly, rather than as a wrong message or verdict.
"""

from __future__ import annotations

import inspect

from jinja2 import Environment, Template
from jinja2.environment import TemplateExpression
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from notifier.engine.jinja import ExpressionRunner, PreparedTemplate


def test_what_a_prepared_template_uses_is_still_there() -> None:
    """`root_render_func`, `blocks`, `context_class(environment, parent, name, blocks)`, `globals_keys`, `concat`
    and `handle_exception` exist, and `Template.render` itself still goes through `root_render_func`."""
    template = Environment(autoescape=True).from_string("{{ greeting }}, {{ name }}")
    assert callable(template.root_render_func)
    assert isinstance(template.blocks, dict)
    env = template.environment
    assert list(inspect.signature(env.context_class).parameters)[:4] == ["environment", "parent", "name", "blocks"]
    ctx = env.context_class(env, {"greeting": "hi", "name": "Ana"}, template.name, template.blocks)
    assert isinstance(ctx, Context)
    assert isinstance(ctx.globals_keys, set)
    assert env.concat(template.root_render_func(ctx)) == "hi, Ana"
    assert callable(env.handle_exception)
    assert "root_render_func" in inspect.getsource(Template.render)
    assert PreparedTemplate(template).render({"greeting": "hi", "name": "Ana"}) == template.render(
        greeting="hi", name="Ana"
    )


def test_what_an_expression_runner_uses_is_still_there() -> None:
    """A compiled expression is a `TemplateExpression` holding its `_template` and `_undefined_to_none`, and its
    render sets `result` in the context's `vars`, exactly what calling it returns."""
    env = ImmutableSandboxedEnvironment()
    expression = env.compile_expression("job.progress >= limit")
    assert type(expression) is TemplateExpression
    template = expression._template
    assert isinstance(template, Template)
    assert isinstance(expression._undefined_to_none, bool)
    ctx = env.context_class(env, {**template.globals, "job": {"progress": 5}, "limit": 3}, template.name, {})
    for _ in template.root_render_func(ctx):
        pass
    assert ctx.vars["result"] is True
    assert "_template" in inspect.getsource(TemplateExpression.__call__)
    runner = ExpressionRunner(expression)
    assert runner({"job": {"progress": 5}, "limit": 3}, {}) is expression(job={"progress": 5}, limit=3) is True
    missing = env.compile_expression("job.nothing")
    assert ExpressionRunner(missing)({"job": {}}, {}) is missing(job={}) is None
    assert not isinstance(missing(job={}), Undefined)
