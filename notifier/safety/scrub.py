"""The one scrubber: secrets redacted, control and bidi-override characters neutralized, length capped.

Line feeds and tabs are text; every other C0 or C1 control (ESC starts a terminal escape sequence, CR can
overwrite a line), DEL, and the bidi embeddings, overrides and isolates that reorder what a reader sees
(U+202A–U+202E, U+2066–U+2069: "Trojan Source") become U+FFFD, the mark for "a character was here". Strings
longer than their cap end in "…" at the cap. Values of other types pass through; containers and frozen
dataclasses are walked, and rebuilt only where something changed.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar

from notifier.models import GroupDigest, Notification
from notifier.safety.redact import Redactor

FIELD = 1000  # characters in one value: a name, a handle, a log line, an error
TEXT = 32_000  # characters in a message's text, HTML or summary
REPLACEMENT = "\ufffd"
ELLIPSIS = "…"
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
T = TypeVar("T")


def neutralize(text: str, limit: int) -> str:
    """`text` without unsafe characters, at most `limit` characters long."""
    if UNSAFE.search(text) is not None:
        text = UNSAFE.sub(REPLACEMENT, text)
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


class Scrubber:
    """Redacts the secrets it was told about; neutralizes and caps everything it is given. Every notification
    is walked value by value, so a dataclass type's field names are looked up once, not per value."""

    def __init__(self) -> None:
        self.redactor = Redactor()
        self._fields: dict[type, tuple[str, ...] | None] = {}

    def text(self, text: str, limit: int = FIELD) -> str:
        # Redacted before capping, so a cap can never cut a secret in two and leave half of it readable.
        return neutralize(self.redactor.text(text), limit)

    def __call__(self, value: T, limit: int = FIELD, *, objects: bool = False) -> T:
        """`value` with every string in it scrubbed (each at most `limit` characters). With `objects`, any other
        object whose text needs scrubbing (an exception carrying a server's reply) is replaced by that text."""
        return self._walk(value, limit, objects)  # type: ignore[no-any-return]

    def _walk(self, value: Any, limit: int, objects: bool) -> Any:
        if isinstance(value, str):
            return self.text(value, limit)
        if value is None or isinstance(value, int | float | bool):
            return value
        if isinstance(value, dict):
            return self._mapping(value, limit, objects)
        if isinstance(value, list | tuple):
            items = [self._walk(v, limit, objects) for v in value]
            return items if isinstance(value, list) else tuple(items)
        names = self._field_names(type(value))
        if names is not None:
            changes = {}
            for name in names:
                old = getattr(value, name)
                new = self._walk(old, limit, objects)
                if new is not old and new != old:
                    changes[name] = new
            return dataclasses.replace(value, **changes) if changes else value
        if objects:
            text = str(value)
            cleaned = self.text(text, limit)
            return value if cleaned == text else cleaned
        return value

    def _mapping(self, value: dict[Any, Any], limit: int, objects: bool) -> dict[Any, Any]:
        """A dict with its keys and values scrubbed; texts, None and numbers (most of a job snapshot) in line."""
        text, walk = self.text, self._walk
        out = {}
        for key, item in value.items():
            kind = type(item)
            if kind is str:
                item = text(item, limit)
            elif item is not None and kind is not int:
                item = walk(item, limit, objects)
            out[text(key, limit) if type(key) is str else walk(key, limit, objects)] = item
        return out

    def _field_names(self, kind: type) -> tuple[str, ...] | None:
        """The fields of a dataclass type (walked), None for any other type (a dataclass type itself included)."""
        try:
            return self._fields[kind]
        except KeyError:
            is_instance = dataclasses.is_dataclass(kind) and not issubclass(kind, type)
            names = tuple(f.name for f in dataclasses.fields(kind)) if is_instance else None
            self._fields[kind] = names
            return names

    def notification(self, notification: Notification) -> Notification:
        """A notification fit to store and send: its message's text, HTML and summary capped at TEXT, every
        other string (title, fields, links, job data …) at FIELD. A digest's alerts are each scrubbed as the
        notification they are, so a digest carries exactly what each would send alone."""
        group = notification.group
        if group is not None:
            alerts = tuple(self.notification(alert) for alert in group.alerts)
            alone = self.notification(dataclasses.replace(notification, group=None))
            return dataclasses.replace(alone, group=dataclasses.replace(self(group_without(group)), alerts=alerts))
        message = notification.message
        long_parts = dataclasses.replace(message, text="", html=None, summary=None)
        scrubbed = self(dataclasses.replace(notification, message=long_parts))
        clean = dataclasses.replace(
            scrubbed.message,
            text=self.text(message.text, TEXT),
            html=None if message.html is None else self.text(message.html, TEXT),
            summary=None if message.summary is None else self.text(message.summary, TEXT),
        )
        return dataclasses.replace(scrubbed, message=clean)


SCRUBBER = Scrubber()  # secrets are those of the configuration loaded last (and any loaded before it)
scrub = SCRUBBER


def group_without(group: GroupDigest) -> GroupDigest:
    """The digest's own fields, its alerts left out (they are scrubbed as notifications of their own)."""
    return dataclasses.replace(group, alerts=())
