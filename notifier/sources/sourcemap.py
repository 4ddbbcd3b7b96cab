"""YAML documents that remember where each value was written, so every problem can be a `file:line: message`.

`load_yaml` parses with PyYAML's safe loader and records the line of every mapping key and sequence item by
its path (`("channels", "ops-slack", "token")`). `validation_errors` turns a pydantic ValidationError into
those `file:line` errors; pydantic's own wording is kept, but input values are never echoed, because a value
that failed validation may be a secret.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

Loc = tuple[str | int, ...]
MAX_SOURCE_BYTES = 4 * 1024 * 1024  # config and rule files are small; anything larger is a mistake


@dataclass(frozen=True, slots=True)
class SourceError:
    path: str
    line: int  # 1-based; 0 when the problem is the file as a whole (it cannot be read, …)
    message: str

    def __str__(self) -> str:
        """`file:line: message`, or `file: message` for a problem of the whole file (line 0)."""
        return f"{self.path}:{self.line}: {self.message}" if self.line > 0 else f"{self.path}: {self.message}"


class SourceErrors(Exception):
    """One or more problems in files a user wrote; each is printable as `file:line: message`."""

    def __init__(self, errors: Sequence[SourceError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = list(errors)


@dataclass(frozen=True, slots=True)
class SourceDoc:
    """Parsed data plus the line (1-based) of every key and item, addressed by path."""

    path: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Iterable[str | int]) -> int:
        """The line of `loc`, or of its nearest written ancestor (a missing key points at its parent)."""
        best = self.lines.get((), 1)
        current: Loc = ()
        for part in loc:
            candidate = (*current, part)
            if candidate in self.lines:
                current = candidate
                best = self.lines[candidate]
        return best

    def value_at(self, loc: Iterable[str | int]) -> Any:
        """The value written at `loc`, or None where the path leads nowhere."""
        value = self.data
        for part in loc:
            in_list = isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
            if not in_list and not (isinstance(value, dict) and part in value):
                return None
            value = value[part]
        return value

    def error(self, loc: Iterable[str | int], message: str) -> SourceError:
        return SourceError(self.path, self.line_of(loc), message)


def load_yaml(path: Path) -> SourceDoc:
    """The document at `path`; a missing file, a syntax error or duplicate keys raise SourceErrors."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceErrors([SourceError(name, 0, f"cannot read: {exc.strerror or exc}")]) from None
    if len(raw) > MAX_SOURCE_BYTES:
        raise SourceErrors([SourceError(name, 0, f"file is larger than {MAX_SOURCE_BYTES} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceErrors([SourceError(name, 0, f"not UTF-8 text (byte {exc.start})")]) from None
    return parse_yaml(text, name)


class Loader(yaml.SafeLoader):
    """The safe loader with YAML 1.2 core-schema scalars, so values mean what they look like.

    Only true/false are booleans: YAML 1.1 reads the key `on:` of every rule as True and a Norwegian locale
    `no` as False. Integers are decimal (`0047` is 47, not octal 39), `0o`/`0x` prefixed, never `1_000` or
    sexagesimal (`1:30` stays text instead of becoming 90). Dates stay text (`api_version: 2014-04-03`).
    """

    def construct_yaml_int(self, node: yaml.Node) -> int:
        text = str(self.construct_scalar(node))  # type: ignore[arg-type]
        sign, digits = (-1, text[1:]) if text[:1] == "-" else (1, text.lstrip("+"))
        if digits.startswith("0o"):
            return sign * int(digits[2:], 8)
        if digits.startswith("0x"):
            return sign * int(digits[2:], 16)
        return sign * int(digits, 10)


_YAML11_SCALARS = {f"tag:yaml.org,2002:{kind}" for kind in ("bool", "int", "float", "timestamp")}
Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _YAML11_SCALARS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)
Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)


def parse_yaml(text: str, name: str) -> SourceDoc:
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise SourceErrors([SourceError(name, line, f"YAML syntax: {exc.problem or exc.context}")]) from None
    except yaml.YAMLError as exc:
        raise SourceErrors([SourceError(name, 0, f"YAML syntax: {exc}")]) from None
    finally:
        loader.dispose()
    lines: dict[Loc, int] = {}
    errors: list[SourceError] = []
    if node is not None:
        _record(loader, node, (), lines, errors, name, set())
    if errors:
        raise SourceErrors(errors)
    return SourceDoc(name, data, lines)


def _record(
    loader: Loader,
    node: yaml.Node,
    loc: Loc,
    lines: dict[Loc, int],
    errors: list[SourceError],
    name: str,
    seen: set[int],
    within: frozenset[int] = frozenset(),
) -> None:
    """Walk the node tree once per node (aliases are not re-walked: no exponential blow-up); an alias to a
    node it sits inside makes the data contain itself, which no setting can be, so it is an error."""
    lines.setdefault(loc, node.start_mark.line + 1)
    if id(node) in within:
        errors.append(SourceError(name, node.start_mark.line + 1, "an alias refers to a value it is part of"))
        return
    if id(node) in seen:
        return
    seen.add(id(node))
    within = within | {id(node)}
    if isinstance(node, yaml.MappingNode):
        keys: set[Any] = set()
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node)
            if not isinstance(key, str | int) or isinstance(key, bool):
                key = str(key)
            if key in keys:
                errors.append(SourceError(name, key_node.start_mark.line + 1, f"duplicate key {key!r}"))
            keys.add(key)
            lines[(*loc, key)] = key_node.start_mark.line + 1
            _record(loader, value_node, (*loc, key), lines, errors, name, seen, within)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record(loader, item, (*loc, index), lines, errors, name, seen, within)


def validation_errors(
    doc: SourceDoc,
    exc: ValidationError,
    prefix: Loc = (),
    model: type[BaseModel] | None = None,
    ignore: Collection[Loc] = (),
) -> list[SourceError]:
    """Each pydantic error at its line; `prefix` is where the validated value sits in the document.

    Errors at or around a location in `ignore` are dropped: that value already has an error of its own (an
    unset environment variable), and validating its placeholder would only add noise.
    """
    out = []
    errors = exc.errors(include_input=False, include_url=False)
    for error in errors:
        loc = tuple(error["loc"])
        kind = error["type"]
        if kind == "too_short" and any(len(e["loc"]) > len(loc) and tuple(e["loc"][: len(loc)]) == loc for e in errors):
            continue  # a list whose items failed is not "empty": the items' own errors say what is wrong
        where = _doc_loc(doc, prefix, loc, keep_last=kind in ("missing", "extra_forbidden"))
        if any(_related(where, skip) for skip in ignore):
            continue
        shown = [str(part) for part in where[len(prefix) :]]
        if kind == "extra_forbidden":
            hint = suggest(shown[-1], known_keys(model, loc[:-1])) if model is not None else ""
            message = f"unknown key {shown.pop()!r}{hint}"
        elif kind == "missing":
            message = f"missing required key {shown.pop()!r}"
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            where, message = _tag_problem(doc, where, error.get("ctx") or {})
        else:
            message = _plain(kind, error, shown[-1] if shown else "", doc.value_at(where))
        key = ".".join(shown)
        out.append(doc.error(where, f"{key}: {message}" if key else message))
    return out


def _tag_problem(doc: SourceDoc, where: Loc, ctx: dict[str, Any]) -> tuple[Loc, str]:
    """A discriminated union (`type: slack|email|…`) whose tag is missing or names no known member."""
    field_name = str(ctx.get("discriminator", "type")).strip("'")
    expected = [t.strip().strip("'") for t in str(ctx.get("expected_tags", "")).split(",") if t.strip()]
    if "tag" not in ctx:
        return where, f"missing required key {field_name!r}"
    choices = f" (one of: {', '.join(expected)})" if expected else ""
    hint = suggest(str(ctx["tag"]), expected) or choices
    return (*where, field_name), f"unknown {field_name} {ctx['tag']!r}{hint}"


def _related(a: Loc, b: Loc) -> bool:
    """One location contains the other (the document root contains everything and is not counted)."""
    shorter = min(len(a), len(b))
    return shorter > 0 and a[:shorter] == b[:shorter]


def _doc_loc(doc: SourceDoc, prefix: Loc, loc: Loc, *, keep_last: bool) -> Loc:
    """`loc` as written in the document.

    Parts pydantic adds are dropped: a discriminated union's tag (`("channels", "x", "slack")`) and the
    `[key]` marker of a mapping key. The last part is kept when it names a key that is missing or unknown.
    """
    path = prefix
    for index, part in enumerate(loc):
        candidate = (*path, part)
        if candidate in doc.lines or (keep_last and index == len(loc) - 1):
            path = candidate
    return path


# What pydantic says of a wrong type or bound, in the words a config author thinks in (the value is never shown).
_TYPES = {
    "tuple_type": "must be a list", "list_type": "must be a list", "set_type": "must be a list",
    "dict_type": "must be a mapping (key: value lines)", "model_type": "must be a mapping (key: value lines)",
    "model_attributes_type": "must be a mapping (key: value lines)",
    "string_type": "must be text", "bool_type": "must be true or false", "bool_parsing": "must be true or false",
    "int_type": "must be a whole number", "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number", "float_type": "must be a number", "float_parsing": "must be a number",
}  # fmt: skip
_BOUNDS = {"greater_than": "more than", "greater_than_equal": "at least", "less_than": "less than",
           "less_than_equal": "at most"}  # fmt: skip


def _plain(kind: str, error: Any, key: str, value: Any) -> str:
    """One pydantic error as a sentence; `value` (the document's, never echoed) only picks a suggestion."""
    ctx = error.get("ctx") or {}
    if kind in ("tuple_type", "list_type", "set_type") and isinstance(value, str):
        return f"must be a list: write `{key}: [item, …]`, or `{key}: [item]` for a single one"
    if kind in _TYPES:
        return _TYPES[kind]
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()), None)
        unit = "s" if isinstance(value, str) and value.strip()[-1:].isalpha() else ""  # a duration, in seconds
        shown = f"{bound:g}" if isinstance(bound, float) else str(bound)
        return f"must be {_BOUNDS[kind]} {shown}{unit}"
    if kind == "literal_error":
        choices = [c.strip().strip("'") for c in re.split(r",| or ", str(ctx.get("expected", ""))) if c.strip()]
        hint = suggest(value, choices) if isinstance(value, str) else ""
        return f"must be one of: {', '.join(choices)}{hint}"
    if kind in ("string_too_short", "too_short") and ctx.get("min_length") == 1:
        return "must not be empty"
    return _clean(error["msg"])


def _clean(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def known_keys(model: type[BaseModel] | None, loc: Loc) -> list[str]:
    """The keys a model accepts at `loc`, for "did you mean" hints; empty when the path leaves the models."""
    current: Any = model
    for part in loc:
        current = _child(current, part)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items() if not f.exclude]
    return []


def _child(current: Any, part: str | int) -> Any:
    if isinstance(current, type) and issubclass(current, BaseModel):
        for name, info in current.model_fields.items():
            if part in (name, info.alias):
                return _unwrap(info.annotation)
        return None
    origin = get_origin(current)
    if origin in (dict, tuple, list):
        args = [a for a in get_args(current) if a is not Ellipsis]  # tuple[X, ...]: the items are X
        return _unwrap(args[-1]) if args else None
    for member in get_args(current) or ():  # a union: the member named by the tag
        if isinstance(member, type) and issubclass(member, BaseModel):
            tag = member.model_fields.get("type")
            if tag is not None and part in get_args(tag.annotation):
                return member
    return None


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is not None and len(args) == 1 and get_origin(annotation) not in (dict, tuple, list):
        return _unwrap(args[0])
    return annotation


def suggest(word: str, options: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the option closest to `word`, or "" when none is close."""
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
