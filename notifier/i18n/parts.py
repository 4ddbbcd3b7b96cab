"""Message parts rendered from Jinja templates, with the work that is the same for every notification done once.

A notification renders five parts, each a template, and a busy daemon renders thousands of notifications a
second. `Template.render(context)` copies the context twice and lists the environment's globals (a ChainMap)
every time; `Parts` keeps each template's globals as a plain dict and its keys, and builds the Jinja context
in one step. It also remembers which template a (rule, locale, part) resolves to, so the lookup chain is walked
once. `Template.render` is the reference the tests hold `Parts.render` to; the Jinja internals it relies on
are checked by a test of their own, which fails loudly when a Jinja release changes them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

from jinja2 import Template


class Parts:
    """Chosen templates by key, and what rendering each needs besides the notification's own context."""

    def __init__(self) -> None:
        self._chosen: dict[Hashable, Template] = {}
        self._globals: dict[Template, tuple[dict[str, Any], set[str]]] = {}

    def choose(self, key: Hashable, load: Callable[[], Template]) -> Template:
        """The template `load` returns for `key`, loaded the first time only (templates never change in place:
        a reload builds a new renderer)."""
        template = self._chosen.get(key)
        if template is None:
            template = self._chosen[key] = load()
        return template

    def render(self, template: Template, context: Mapping[str, Any]) -> str:
        """What `template.render(context)` returns (or raises, with the template's file and line)."""
        known = self._globals.get(template)
        if known is None:
            values = dict(template.globals)
            known = self._globals[template] = (values, set(values))
        values, keys = known
        env = template.environment
        ctx = env.context_class(env, {**values, **context}, template.name, template.blocks)
        ctx.globals_keys = keys  # what Jinja would derive from the globals, derived once
        try:
            return env.concat(template.root_render_func(ctx))
        except Exception:
            env.handle_exception()  # re-raises with the template's frames, as Template.render does
            raise  # not reached: for the type checker
