"""A notify target's grouping as a rule file writes it (`group_by`, `group_wait`, `group_interval`), checked and
compiled; Alertmanager's vocabulary and defaults. Pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from notifier.engine.context import ROOTS
from notifier.sources.sourcemap import suggest

DEFAULT_GROUP_WAIT = 30.0  # Alertmanager's defaults
DEFAULT_GROUP_INTERVAL = 300.0


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """How a target groups: by which fields, how long a new group collects, and how often a group sends at most."""

    by: tuple[str, ...]
    wait: float = DEFAULT_GROUP_WAIT
    interval: float = DEFAULT_GROUP_INTERVAL


def group_spec(
    by: tuple[str, ...] | None, wait: float | None, interval: float | None, error: Callable[[str, str], None]
) -> GroupSpec | None:
    """The target's grouping (None: it does not group); each problem told to `error` with the key it is about.
    `group_by` names fields as rules do (`company.handle`), checked against the same models."""
    if by is None:
        for key, value in (("group_wait", wait), ("group_interval", interval)):
            if value is not None:
                error(key, f"{key} needs group_by (group_by: [] makes one group per rule and channel)")
        return None
    for path in by:
        root, _, name = path.partition(".")
        if root not in ROOTS or not name or "." in name:
            error("group_by", f"group_by: {path!r} is not a field (write e.g. company.handle, job.type, event.kind)")
        elif name not in ROOTS[root]:
            error("group_by", f"group_by: unknown field {path!r}{suggest(name, ROOTS[root])}")
    if interval == 0:
        error("group_interval", "group_interval must be longer than 0s")
    return GroupSpec(
        tuple(dict.fromkeys(by)),
        DEFAULT_GROUP_WAIT if wait is None else wait,
        DEFAULT_GROUP_INTERVAL if interval is None else interval,
    )
