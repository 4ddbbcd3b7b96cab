"""The Jinja internals the fast paths rely on, all here, each beside the public call it stands for.

Rules evaluate a `where` expression for every event, and messages render five templates per notification; Jinja's
public calls copy the environment's globals (a ChainMap, read key by key) and build a fresh context on every
call, which costs more than most expressions and templates themselves. The globals cannot change once a rule
set or a renderer is built, so these keep them copied and build the context in one step:

- `ExpressionRunner` gives what `expression(**context)` gives;
- `PreparedTemplate.render(context)` gives what `template.render(context)` gives, errors and their template
  lines included.

Both drive `Template.root_render_func`, `Environment.context_class`, `Context.globals_keys`/`vars`,
`Environment.concat`/`handle_exception` and `TemplateExpression._template`/`_undefined_to_none`: a test
(tests/engine/test_jinja.py) checks each of them and fails loudly when a Jinja release changes one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Template
from jinja2.environment import TemplateExpression
from jinja2.runtime import Context, Undefined

Scope = dict[Any, Context]  # per event: the Jinja contexts the expressions evaluated for it share
Runner = Callable[[Mapping[str, Any], Scope], Any]


class PreparedTemplate:
    """One template, with its globals copied once; `render(context)` is `template.render(context)`."""

    def __init__(self, template: Template) -> None:
        self.template = template
        self._globals = dict(template.globals)
        self._keys = set(self._globals)

    def render(self, context: Mapping[str, Any]) -> str:
        template = self.template
        env = template.environment
        ctx = env.context_class(env, {**self._globals, **context}, template.name, template.blocks)
        ctx.globals_keys = self._keys  # what Jinja would derive from the globals, derived once
        try:
            return env.concat(template.root_render_func(ctx))
        except Exception:
            env.handle_exception()  # re-raises with the template's frames, as Template.render does
            raise  # not reached: for the type checker


class ExpressionRunner:
    """A compiled `where` expression called with an event context: `runner(context, scope)` is
    `expression(**context)`. The expressions evaluated for one event share one Jinja context through `scope`
    (an expression only sets its `result` there, read straight after). Anything that is not a plain Jinja
    expression is simply called."""

    def __init__(self, expression: Callable[..., Any]) -> None:
        self.expression = expression
        template = getattr(expression, "_template", None)
        self._template = template if type(expression) is TemplateExpression and isinstance(template, Template) else None
        if self._template is not None:
            self._globals = dict(self._template.globals)
            self._keys = set(self._globals)
            self._to_none = bool(getattr(expression, "_undefined_to_none", False))
            # Expressions share a context only when everything they could resolve through it is the same: one
            # environment, and globals with the same names bound to the same objects.
            self._shares = (self._template.environment, self._template.name, tuple(self._template.blocks),
                            tuple((k, id(v)) for k, v in self._globals.items()))  # fmt: skip

    def __call__(self, context: Mapping[str, Any], scope: Scope) -> Any:
        template = self._template
        if template is None:
            return self.expression(**context)
        ctx = scope.get(self._shares)
        if ctx is None:
            env = template.environment
            ctx = scope[self._shares] = env.context_class(env, {**self._globals, **context}, template.name,
                                                          template.blocks)  # fmt: skip
            ctx.globals_keys = self._keys
        for _ in template.root_render_func(ctx):
            pass
        value = ctx.vars["result"]
        return None if self._to_none and isinstance(value, Undefined) else value
