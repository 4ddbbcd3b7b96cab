"""Rule files → validated, compiled rules. Every problem is a `file:line: message`, found at load time.

A rules source is a YAML file or a directory of `*.yaml`/`*.yml` files; each file holds a list of rules or a
mapping with the key `rules:`. `where` and `to:` are sandboxed Jinja, compiled once here, and the fields they
name are checked against the models so a typo like `job.stat` is caught before the daemon starts.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, field_validator

from notifier.engine.context import ROOTS
from notifier.engine.grouping import GroupSpec, group_spec
from notifier.models import EVENT_KINDS
from notifier.sources.durations import Duration
from notifier.sources.sourcemap import SourceDoc, SourceError, SourceErrors, load_yaml, suggest, validation_errors

STATE_KINDS = frozenset({"job.active"})
# Episode rules: opened by one of these events, closed by the event it maps to (for the same company or schedule).
EPISODE_CLOSERS = {
    "company.unreachable": "company.recovered",
    "schedule.missed": "schedule.recovered",
    "schedule.failed": "schedule.recovered",
}
EPISODE_KINDS = frozenset(EPISODE_CLOSERS)
RULE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

Expression = Callable[..., Any]


def expression_environment() -> ImmutableSandboxedEnvironment:
    """Sandboxed: rules may read job data but never call into Python or change anything."""
    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


class NotifySpec(BaseModel):
    """Where a rule's notifications go."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Target")

    channel: str = Field(description="a channel name from the config's `channels:`")
    to: tuple[str, ...] = Field(
        default=(), description="extra email recipients, templated, e.g. '{{ job.submit_user_email }}'"
    )
    group_by: tuple[str, ...] | None = Field(
        default=None,
        description="collect notifications into one digest per group of equal values of these fields "
        "(e.g. [company.handle]); [] = one group per rule and channel; absent = one message per notification",
    )
    group_wait: Duration | None = Field(default=None, description="how long a new group collects (default 30s)")
    group_interval: Duration | None = Field(
        default=None, description="at most one digest per group this often (default 5m)"
    )


_EVENT = {"type": "string", "enum": sorted(EVENT_KINDS)}
_ON_SCHEMA = {
    "description": "the event kind(s) the rule looks at; job.active makes it a state rule",
    "anyOf": [_EVENT, {"type": "array", "items": _EVENT, "minItems": 1}],
}


class RuleSpec(BaseModel):
    """A rule as written in a rule file (`Rule` is its compiled form)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, title="Rule")

    name: str = Field(pattern=RULE_NAME, description="unique across all rule files")
    description: str | None = Field(default=None, description="what the rule is for, shown to people")
    on: Annotated[tuple[str, ...], WithJsonSchema(_ON_SCHEMA)]
    where: str | None = Field(
        default=None, description="sandboxed Jinja expression over job, log, company, schedule and event"
    )
    for_: Duration = Field(default=0.0, alias="for", description="state rules: how long the condition must hold")
    severity: Literal["info", "warning", "critical"] = "warning"
    send_resolved: bool = Field(default=False, description="also notify when the alert resolves")
    repeat: Duration | None = Field(
        default=None, description="state rules: re-notify while firing; event rules: at most once per job per window"
    )
    notify: tuple[NotifySpec, ...] = Field(min_length=1)

    @field_validator("on", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("on")
    @classmethod
    def _known_kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for kind in value:
            if kind not in EVENT_KINDS:
                raise ValueError(f"unknown event {kind!r}{suggest(kind, EVENT_KINDS)}")
        if not value:
            raise ValueError("name at least one event")
        state = [k for k in value if k in STATE_KINDS]
        if state and len(value) > 1:
            raise ValueError(f"{state[0]} makes a state rule and cannot be mixed with other events")
        episode = [k for k in value if k in EPISODE_KINDS]
        if episode and len(episode) < len(value):
            raise ValueError(f"{episode[0]} makes an episode rule and cannot be mixed with other events")
        ends = sorted({EPISODE_CLOSERS[k] for k in episode})
        if len(ends) > 1:
            raise ValueError(f"{', '.join(episode)} end on different events ({', '.join(ends)}): give each a rule")
        return value


@dataclass(frozen=True, slots=True)
class RuleChannel:
    """A channel a rule notifies, the recipients its `to:` templates add there, and how it groups (None: each
    notification is its own message)."""

    channel: str
    to: tuple[Expression, ...] = ()
    group: GroupSpec | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """A compiled rule. `kind` says how it fires: once per event, while a state holds, or per episode."""

    name: str
    on: frozenset[str]
    where_source: str | None
    where: Expression | None
    for_seconds: float
    severity: str
    send_resolved: bool
    repeat: float | None
    notify: tuple[RuleChannel, ...]
    source: str
    description: str | None = None

    @property
    def closer(self) -> str | None:
        """The event that ends an episode rule's alerts (None for other rules)."""
        return next((EPISODE_CLOSERS[k] for k in self.on if k in EPISODE_CLOSERS), None)

    @property
    def kind(self) -> Literal["event", "state", "episode"]:
        if self.on & STATE_KINDS:
            return "state"
        if self.on & EPISODE_KINDS:
            return "episode"
        return "event"


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...]

    def for_kind(self, kind: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if kind in r.on)

    def by_name(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(r.name for r in self.rules)


def rule_files(source: Path) -> list[Path]:
    if source.is_dir():
        return sorted(p for p in source.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return [source]


def load_rules(source: Path, channels: Collection[str] | None) -> RuleSet:
    """All rules under `source`, or SourceErrors listing every problem in every file.

    `channels` are the configured channel names a rule may notify; None accepts any (offline testing).
    """
    errors: list[SourceError] = []
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    env = expression_environment()
    if not source.exists():
        raise SourceErrors([SourceError(str(source), 0, "rules file or directory does not exist")])
    for path in rule_files(source):
        try:
            doc = load_yaml(path)
        except SourceErrors as exc:
            errors.extend(exc.errors)
            continue
        # Names count even for rules with errors of their own: a duplicate is reported in the same run.
        for name, where, rule in _load_doc(doc, channels, env, errors):
            if name in seen:
                errors.append(_at(where, f"duplicate rule name {name!r} (first defined at {seen[name]})"))
                continue
            seen[name] = where
            if rule is not None:
                rules.append(rule)
    if errors:
        raise SourceErrors(sorted(errors, key=lambda e: (e.path, e.line)))
    return RuleSet(tuple(rules))


def _at(source: str, message: str) -> SourceError:
    path, _, line = source.rpartition(":")
    return SourceError(path, int(line), message)


def _entries(doc: SourceDoc, errors: list[SourceError]) -> Iterable[tuple[tuple[str | int, ...], Any]]:
    data = doc.data
    prefix: tuple[str | int, ...] = ()
    if isinstance(data, dict) and set(data) == {"rules"}:
        data, prefix = data["rules"], ("rules",)
    if data is None:
        return []
    if not isinstance(data, list):
        errors.append(SourceError(doc.path, doc.line_of(prefix), "expected a list of rules (or a mapping 'rules:')"))
        return []
    return [((*prefix, i), item) for i, item in enumerate(data)]


def _load_doc(
    doc: SourceDoc, channels: Collection[str] | None, env: ImmutableSandboxedEnvironment, errors: list[SourceError]
) -> list[tuple[str, str, Rule | None]]:
    """(name, file:line, the compiled rule or None when it has errors) for each rule of one file."""
    out: list[tuple[str, str, Rule | None]] = []
    for loc, item in _entries(doc, errors):
        name = item.get("name") if isinstance(item, dict) else None
        where = f"{doc.path}:{doc.line_of(loc)}"
        try:
            spec = RuleSpec.model_validate(item)
        except ValidationError as exc:
            prefix = f"rule {name!r}: " if isinstance(name, str) else ""
            found = validation_errors(doc, exc, loc, model=RuleSpec)
            errors.extend(SourceError(e.path, e.line, prefix + e.message) for e in sorted(found, key=lambda e: e.line))
            if isinstance(name, str):
                out.append((name, where, None))
            continue
        before = len(errors)
        rule = _compile(spec, doc, loc, channels, env, errors)
        out.append((spec.name, where, rule if len(errors) == before else None))
    return out


def _compile(
    spec: RuleSpec,
    doc: SourceDoc,
    loc: tuple[str | int, ...],
    channels: Collection[str] | None,
    env: ImmutableSandboxedEnvironment,
    errors: list[SourceError],
) -> Rule:
    def error(path: Sequence[str | int], message: str) -> None:
        errors.append(SourceError(doc.path, doc.line_of((*loc, *path)), f"rule {spec.name!r}: {message}"))

    where = None
    if spec.where is not None:
        where = _expression(env, spec.where, lambda m: error(("where",), m))
    if spec.for_ and not set(spec.on) & STATE_KINDS:
        error(("for",), "'for' applies only to state rules (on: job.active)")
    targets = []
    for i, target in enumerate(spec.notify):
        if channels is not None and target.channel not in channels:
            error(
                ("notify", i, "channel"), f"unknown channel {target.channel!r}{_channel_hint(target.channel, channels)}"
            )
        to = tuple(_template(env, t, _reporter(error, ("notify", i, "to", j))) for j, t in enumerate(target.to))
        targets.append(
            RuleChannel(
                target.channel,
                to,
                group_spec(target.group_by, target.group_wait, target.group_interval, _keyed(error, i)),
            )
        )
    return Rule(
        name=spec.name,
        on=frozenset(spec.on),
        where_source=spec.where,
        where=where,
        for_seconds=spec.for_,
        severity=spec.severity,
        send_resolved=spec.send_resolved,
        repeat=spec.repeat,
        notify=tuple(targets),
        source=f"{doc.path}:{doc.line_of(loc)}",
        description=spec.description,
    )


def _keyed(error: Callable[[Sequence[str | int], str], None], i: int) -> Callable[[str, str], None]:
    return lambda key, message: error(("notify", i, key), message)


def _reporter(error: Callable[[Sequence[str | int], str], None], loc: Sequence[str | int]) -> Callable[[str], None]:
    return lambda message: error(loc, message)


def _expression(env: ImmutableSandboxedEnvironment, source: str, error: Callable[[str], None]) -> Expression:
    if source.strip().startswith(("{{", "{%")):
        error(f"'where' is a bare expression: write it without {{{{ }}}}, e.g. where: {_bare(source)}")
        return _never
    try:  # compiled first: its syntax errors speak of what was written, not of the wrapping below
        compiled = env.compile_expression(source, undefined_to_none=False)
        ast = env.parse(f"{{{{ ({source}) }}}}")
    except TemplateSyntaxError as exc:
        error(f"bad expression: {exc.message}")
        return _never
    _check_fields(ast, error)
    return compiled


def _template(env: ImmutableSandboxedEnvironment, source: str, error: Callable[[str], None]) -> Expression:
    try:
        template = env.from_string(source)
    except TemplateSyntaxError as exc:
        error(f"bad template: {exc.message}")
        return _never
    _check_fields(env.parse(source), error)
    return template.render


def _check_fields(ast: nodes.Node, error: Callable[[str], None]) -> None:
    """`job.stat` is a typo, not a field that happens to be missing today: say so at load time."""
    for node in ast.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name in ROOTS:
            known = ROOTS[node.node.name]
            if node.attr not in known:
                error(f"unknown field '{node.node.name}.{node.attr}'{suggest(node.attr, known)}")
    assigned = {n.name for n in ast.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for name in ast.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in ROOTS and name.name not in assigned and name.name != "loop":
            error(f"unknown name {name.name!r} (use job, log, company, schedule or event)")


def _bare(source: str) -> str:
    """`{{ job.progress > 50 }}` as it should have been written; a statement tag gets a generic example."""
    inner = source.strip()
    if inner.startswith("{{") and inner.endswith("}}"):
        return inner[2:-2].strip() or 'job.state == "Running"'
    return 'job.state == "Running"'


def _never(*_args: Any, **_kwargs: Any) -> Any:
    return False


def _channel_hint(name: str, channels: Collection[str]) -> str:
    """The channel probably meant, else the ones the config defines (a rule can only name those)."""
    if not channels:
        return " (the config defines no channels: add one under channels:)"
    return suggest(name, channels) or f" (channels: {', '.join(sorted(channels))})"
