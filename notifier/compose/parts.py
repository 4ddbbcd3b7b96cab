"""Message parts rendered from Jinja templates, with the work that is the same for every notification done once.

A notification renders five parts, each a template, and a busy daemon renders thousands of notifications a
second. `Parts` remembers which template a (rule, locale, part) resolves to, so the lookup chain is walked
once, and renders each through a `PreparedTemplate` (globals copied once, the context built in one step).
`Template.render` is the reference the tests hold `Parts.render` to; the Jinja internals behind it are
checked by a test of their own (see `engine.jinja`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

from jinja2 import Template

from notifier.engine.jinja import PreparedTemplate


class Parts:
    """Chosen templates by key, each prepared for rendering."""

    def __init__(self) -> None:
        self._chosen: dict[Hashable, Template] = {}
        self._prepared: dict[Template, PreparedTemplate] = {}

    def choose(self, key: Hashable, load: Callable[[], Template]) -> Template:
        """The template `load` returns for `key`, loaded the first time only (templates never change in place:
        a reload builds a new renderer)."""
        template = self._chosen.get(key)
        if template is None:
            template = self._chosen[key] = load()
        return template

    def render(self, template: Template, context: Mapping[str, Any]) -> str:
        """What `template.render(context)` returns (or raises, with the template's file and line)."""
        prepared = self._prepared.get(template)
        if prepared is None:
            prepared = self._prepared[template] = PreparedTemplate(template)
        return prepared.render(context)
