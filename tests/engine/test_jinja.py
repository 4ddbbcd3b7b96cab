"""The Jinja internals behind the fast paths (`engine.jinja`, `engine.conditions`) are still there and mean what
they meant.

Each check names what `PreparedTemplate` or `ExpressionRunner` uses instead of Jinja's public call; when a Jinja
release renames or changes one of them, this fails here, loudly, rather than as a wrong message or verdict.
"""

from __future__ import annotations

import inspect

import jinja2
from jinja2 import Environment, Template, nodes
from jinja2.environment import TemplateExpression
from jinja2.parser import Parser
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg

from notifier.engine.context import ROOTS
from notifier.engine.jinja import ExpressionRunner, PreparedTemplate
from notifier.engine.rules import expression_environment

_ENV = expression_environment()  # what rule conditions are compiled from (`engine.conditions`)


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


def test_the_jinja_internals_the_compiler_relies_on_are_unchanged() -> None:
    """If Jinja changes what the compiler mirrors, this fails rather than the compiled rules drifting."""
    assert _ENV.sandboxed
    assert _ENV.intercepted_binops == frozenset()
    assert _ENV.intercepted_unops == frozenset()
    expression = _ENV.compile_expression("job.state", undefined_to_none=False)
    assert type(expression) is TemplateExpression
    assert isinstance(expression._template, jinja2.Template)
    assert expression._undefined_to_none is False
    tree = Parser(_ENV, 'job.state == "x" and not 1 < 2', state="variable").parse_expression()
    assert isinstance(tree, nodes.And)
    assert isinstance(tree.left, nodes.Compare)
    fields = {cls: cls.fields for cls in (nodes.Compare, nodes.Operand, nodes.Getattr, nodes.Filter, nodes.CondExpr)}
    assert fields == {
        nodes.Compare: ("expr", "ops"),
        nodes.Operand: ("op", "expr"),
        nodes.Getattr: ("node", "attr", "ctx"),
        nodes.Filter: ("node", "name", "args", "kwargs", "dyn_args", "dyn_kwargs"),
        nodes.CondExpr: ("test", "expr1", "expr2"),
    }
    assert _PassArg.from_obj(_ENV.filters["attr"]) is _PassArg.environment
    assert _PassArg.from_obj(_ENV.tests["none"]) is None  # type: ignore[type-var]
    # Fields are read from the models where Jinja reads the view's key: no field may be a dict attribute.
    assert not {name for names in ROOTS.values() for name in names} & set(dir(dict))
