"""Reading the config file: YAML with line numbers → `${ENV}` substituted in parsed values (never in raw text, so
a value can never change the document's structure) → `*_file` secrets read → validated `Config`. Every problem
is a `file:line: message`, all of them at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from notifier.config.channels import channel_warnings
from notifier.config.settings import Config, company_key
from notifier.config.substitute import Substitution
from notifier.models import CompanyId
from notifier.sources.sourcemap import SourceDoc, SourceError, SourceErrors, load_yaml, validation_errors
from notifier.store.location import state_problem


def load_config(path: Path, environ: Mapping[str, str] | None = None, *, verify_state: bool = False) -> Config:
    """The validated config at `path`, or SourceErrors with every problem found.

    Existing state must at least look sound (the store says what that means for its kind of location); with
    `verify_state` it is read in full too (read-only), as `notifier check` and `notifier run` do before they start.
    """
    path = Path(path)
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise SourceErrors([doc.error((), "expected a mapping of settings (ips:, companies:, …)")])
    errors: list[SourceError] = []
    if "source" in doc.data:
        errors.append(doc.error(("source",), "unknown key 'source'"))
    base = path.parent.resolve()
    values = Substitution(doc, errors)
    data = values.interpolate(doc.data, (), os.environ if environ is None else environ)
    data = values.read_secret_files(data, (), base)
    data = {k: v for k, v in data.items() if k != "source"}
    errors.extend(_duplicate_companies(doc, data.get("companies")))
    config: Config | None = None
    try:
        context = {"base_dir": base, "companies_checked": True}
        config = Config.model_validate({**data, "source": path}, context=context)
    except ValidationError as exc:
        errors.extend(validation_errors(doc, exc, (), model=Config, ignore=values.broken))
    if config is not None:
        errors.extend(_missing_paths(doc, config, verify_state))
    if errors or config is None:
        raise SourceErrors(values.hide_secrets(sorted(errors, key=lambda e: e.line)))
    return config


def _duplicate_companies(doc: SourceDoc, companies: Any) -> list[SourceError]:
    """Each repeated company at its own line, whether or not the rest of the file is valid."""
    if not isinstance(companies, list):
        return []
    errors: list[SourceError] = []
    first: dict[str, int] = {}
    for index, entry in enumerate(companies):
        if not isinstance(entry, dict) or not (entry.get("handle") or entry.get("name")):
            continue
        key = company_key(entry.get("handle"), entry.get("name"))
        if key in first:
            label = CompanyId.from_key(key).label
            earlier = doc.line_of(("companies", first[key]))
            message = f"company {label!r} is listed twice (also on line {earlier})"
            errors.append(doc.error(("companies", index), message))
        else:
            first[key] = index
    return errors


def _missing_paths(doc: SourceDoc, config: Config, verify_state: bool) -> list[SourceError]:
    """`rules:` and `templates:` must name something that exists (relative paths are from the config file);
    `state:` a file that can be created, or a database that is not damaged."""
    errors = []
    for key, value in (("rules", config.rules), ("templates", config.templates)):
        if value is not None and not value.exists():
            errors.append(doc.error((key,), f"{key}: {value} does not exist"))
        elif key == "templates" and value is not None and not value.is_dir():
            errors.append(doc.error((key,), f"templates: {value} is not a directory"))
    problem = state_problem(config.state_location, thorough=verify_state)
    if problem:
        errors.append(doc.error(("state",), f"state: {problem}"))
    return errors


def config_warnings(path: Path) -> list[str]:
    """`file:line: warning: …` for settings of a valid config at `path` that have no effect, for `notifier check`."""
    config = load_config(path)
    doc = load_yaml(Path(path))
    data = doc.data if isinstance(doc.data, dict) else {}
    channels = data.get("channels")
    written: dict[str, Any] = channels if isinstance(channels, dict) else {}
    warnings = []
    for name, channel in config.channels.items():
        given = written.get(name)
        keys = frozenset(given) if isinstance(given, dict) else frozenset()
        for key, message in channel_warnings(name, channel, keys):
            warnings.append(f"{doc.path}:{doc.line_of(('channels', name, key))}: warning: {message}")
    return warnings
