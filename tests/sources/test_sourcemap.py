"""YAML with line numbers: where each value was written, YAML 1.2 scalars, and pydantic errors as file:line."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from notifier.sources.sourcemap import MAX_SOURCE_BYTES, SourceErrors, load_yaml, parse_yaml, validation_errors


def test_lines_are_recorded_for_keys_and_items() -> None:
    """Every key and sequence item is addressable by its path, with its 1-based line."""
    doc = parse_yaml("a:\n  b: 1\n  c:\n    - x\n    - y: 2\n", "f.yaml")
    assert doc.lines[("a",)] == 1
    assert doc.lines[("a", "b")] == 2
    assert doc.lines[("a", "c", 0)] == 4
    assert doc.lines[("a", "c", 1, "y")] == 5


def test_a_missing_location_points_at_its_nearest_written_ancestor() -> None:
    """A key that was not written (a missing required key) is reported at its parent's line."""
    doc = parse_yaml("top: 1\nsection:\n  present: 2\n", "f.yaml")
    assert doc.line_of(("section", "absent", "deeper")) == 2
    assert doc.line_of(("nowhere",)) == 1


def test_duplicate_keys_are_errors_at_the_second_occurrence() -> None:
    """A key written twice in one mapping is an error at the line of the repeat, not silently last-wins."""
    with pytest.raises(SourceErrors) as caught:
        parse_yaml("a: 1\nb:\n  x: 1\n  x: 2\na: 3\n", "f.yaml")
    assert [str(e) for e in caught.value.errors] == ["f.yaml:4: duplicate key 'x'", "f.yaml:5: duplicate key 'a'"]


def test_syntax_error_has_its_line() -> None:
    """A YAML syntax error is reported as file:line with the parser's reason."""
    with pytest.raises(SourceErrors) as caught:
        parse_yaml("a: 1\nb: [1, 2\nc: 3\n", "f.yaml")
    (error,) = caught.value.errors
    assert error.path == "f.yaml"
    assert error.line == 3
    assert error.message.startswith("YAML syntax: ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on", "on"),
        ("off", "off"),
        ("yes", "yes"),
        ("no", "no"),
        ("y", "y"),
        ("true", True),
        ("False", False),
        ("0047", 47),
        ("47", 47),
        ("-12", -12),
        ("0o17", 15),
        ("0x1F", 31),
        ("1_000", "1_000"),
        ("1:30", "1:30"),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("2014-04-03", "2014-04-03"),
        ("null", None),
        ("~", None),
    ],
)
def test_scalars_follow_yaml_1_2(text: str, expected: object) -> None:
    """`on:`/`no` stay text, `0047` is decimal, `1:30` and dates stay text: values mean what they look like."""
    value = parse_yaml(f"k: {text}\n", "f.yaml").data["k"]
    assert value == expected
    assert type(value) is type(expected)


def test_the_rule_key_on_stays_a_string_key() -> None:
    """`on:` as a mapping key is the text "on", never the boolean True."""
    assert parse_yaml("on: job.failed\n", "f.yaml").data == {"on": "job.failed"}


def test_aliases_are_not_walked_again() -> None:
    """Nested aliases (a billion-laughs shape) load quickly instead of being walked exponentially."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 12)]
    started = time.perf_counter()
    doc = parse_yaml("\n".join(lines) + "\n", "f.yaml")
    assert time.perf_counter() - started < 2.0
    assert doc.lines[("a11",)] == 12


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    """A file that cannot be read is one error naming the file."""
    with pytest.raises(SourceErrors) as caught:
        load_yaml(tmp_path / "absent.yaml")
    assert str(caught.value.errors[0]).startswith(f"{tmp_path / 'absent.yaml'}: cannot read")


def test_non_utf8_file_is_an_error(tmp_path: Path) -> None:
    """A file that is not UTF-8 text is refused with the offending byte's position."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: Lumi\xe8re\n".encode("latin-1"))
    with pytest.raises(SourceErrors, match="not UTF-8 text"):
        load_yaml(path)


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    """Config and rule files are small; a huge one is refused before parsing."""
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"#" * (MAX_SOURCE_BYTES + 1))
    with pytest.raises(SourceErrors, match="larger than"):
        load_yaml(path)


class _Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(pattern=r"^xoxb-")
    timeout: int = 5


class _Console(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["console"]


class _Hook(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["hook"]
    url: str


class _Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inner: _Inner


class _Tagged(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: dict[str, Annotated[_Console | _Hook, Field(discriminator="type")]] = Field(default_factory=dict)


def _errors(model: type[BaseModel], text: str) -> list[str]:
    doc = parse_yaml(text, "f.yaml")
    with pytest.raises(ValidationError) as caught:
        model.model_validate(doc.data)
    return [str(e) for e in validation_errors(doc, caught.value, model=model)]


def test_unknown_key_suggests_the_closest_known_one() -> None:
    """A misspelt key is an error at its line with a "did you mean" from the model's own keys."""
    assert _errors(_Outer, "inner:\n  token: xoxb-1\n  timout: 3\n") == [
        "f.yaml:3: inner: unknown key 'timout' (did you mean 'timeout'?)"
    ]


def test_missing_key_is_reported_at_the_parent() -> None:
    """A required key that is absent is named, at the line of the mapping that lacks it."""
    assert _errors(_Outer, "\ninner:\n  timeout: 3\n") == ["f.yaml:2: inner: missing required key 'token'"]


def test_rejected_values_are_never_echoed() -> None:
    """A value that failed validation is not repeated in the message: it may be a secret."""
    errors = _errors(_Outer, "inner:\n  token: hunter2-very-secret\n")
    assert errors == ["f.yaml:2: inner.token: String should match pattern '^xoxb-'"]


def test_unknown_tag_names_the_closest_member() -> None:
    """A discriminated union with an unknown tag says which tags exist, at the tag's line."""
    errors = _errors(_Tagged, "items:\n  a:\n    type: hoook\n    url: x\n")
    assert errors == ["f.yaml:3: items.a: unknown type 'hoook' (did you mean 'hook'?)"]


def test_missing_tag_is_a_missing_key() -> None:
    """A discriminated union member without its tag is reported as the missing key."""
    assert _errors(_Tagged, "items:\n  a: {url: x}\n") == ["f.yaml:2: items.a: missing required key 'type'"]


def test_member_errors_do_not_show_the_tag_as_a_key() -> None:
    """Errors inside a tagged member are addressed by the keys the user wrote, without the tag name."""
    assert _errors(_Tagged, "items:\n  a:\n    type: hook\n    url: 3\n") == ["f.yaml:4: items.a.url: must be text"]


def test_errors_inside_a_prefix_are_addressed_from_it() -> None:
    """Validating a sub-document (one rule of a list) reports lines of the whole file and keys from the prefix."""
    doc = parse_yaml("rules:\n  - token: xoxb-1\n  - token: bad\n", "f.yaml")
    with pytest.raises(ValidationError) as caught:
        _Inner.model_validate(doc.data["rules"][1])
    errors = validation_errors(doc, caught.value, ("rules", 1), model=_Inner)
    assert [str(e) for e in errors] == ["f.yaml:3: token: String should match pattern '^xoxb-'"]


def test_ignored_locations_drop_follow_up_errors() -> None:
    """A value that already has an error of its own (an unset variable) gets no second one from validation."""
    doc = parse_yaml("inner:\n  token: ''\n  timeout: x\n", "f.yaml")
    with pytest.raises(ValidationError) as caught:
        _Outer.model_validate(doc.data)
    errors = validation_errors(doc, caught.value, model=_Outer, ignore={("inner", "token")})
    assert [str(e) for e in errors] == ["f.yaml:3: inner.timeout: must be a whole number"]
