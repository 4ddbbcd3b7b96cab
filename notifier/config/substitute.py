"""Values from outside the config file: `${ENV}` in parsed string values, and `<key>_file` secrets.

Both work on the parsed document, never on its raw text, so whatever a variable or a secret file holds
(`#`, `: `, newlines) it can only ever be a value. Every problem is collected as a `file:line` error, and
every value that came from outside is remembered so that no error message can show it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from notifier.sources.sourcemap import Loc, SourceDoc, SourceError

ENV_REF = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# Each may be given as `<key>_file` instead, read from a mounted secret.
SECRET_KEYS = frozenset({"password", "token", "webhook_url", "secret", "routing_key", "state_password"})


class Substitution:
    """One pass over one document: `broken` holds the locations whose value could not be filled in."""

    def __init__(self, doc: SourceDoc, errors: list[SourceError]) -> None:
        self.doc = doc
        self.errors = errors
        self.broken: set[Loc] = set()
        self.secrets: set[str] = set()

    def interpolate(self, value: Any, loc: Loc, env: Mapping[str, str]) -> Any:
        """`${NAME}` / `${NAME:-default}` in string values; `$${` is a literal `${`. Keys are never touched.

        An unset variable is an error at the value's line; `:-` also covers a variable set but empty.
        """
        if isinstance(value, dict):
            return {k: self.interpolate(v, (*loc, k), env) for k, v in value.items()}
        if isinstance(value, list):
            return [self.interpolate(v, (*loc, i), env) for i, v in enumerate(value)]
        if not isinstance(value, str) or "$" not in value:
            return value

        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            name, default = match.group(1), match.group(2)
            if default is not None and not env.get(name):
                return default
            if name in env:
                self.secrets.add(env[name])
                return env[name]
            self.errors.append(self.doc.error(loc, f"environment variable {name} is not set"))
            self.broken.add(loc)
            return ""

        return ENV_REF.sub(replace, value)

    def read_secret_files(self, value: Any, loc: Loc, base: Path) -> Any:
        """`password_file: /run/secrets/x` becomes `password: <file content>` (trailing newline dropped)."""
        if isinstance(value, list):
            return [self.read_secret_files(v, (*loc, i), base) for i, v in enumerate(value)]
        if not isinstance(value, dict):
            return value
        out: dict[Any, Any] = {}
        for key, item in value.items():
            target = key.removesuffix("_file") if isinstance(key, str) else key
            if target == key or target not in SECRET_KEYS:
                out[key] = self.read_secret_files(item, (*loc, key), base)
            elif target in value:
                self.errors.append(self.doc.error((*loc, key), f"give {target} or {key}, not both"))
            else:
                out[target] = self._secret(item, loc, key, target, base)
        return out

    def _secret(self, name: Any, loc: Loc, key: str, target: str, base: Path) -> str:
        self.doc.lines[(*loc, target)] = self.doc.line_of((*loc, key))  # errors about it point at `<key>_file`
        content = self._read(name, (*loc, key), base)
        if content is None:
            self.broken.update({(*loc, key), (*loc, target)})
            return ""
        self.secrets.add(content)
        return content

    def _read(self, name: Any, loc: Loc, base: Path) -> str | None:
        if not isinstance(name, str) or not name:
            self.errors.append(self.doc.error(loc, "expected a file path"))
            return None
        try:
            return (base / Path(name).expanduser()).read_text(encoding="utf-8").rstrip("\r\n")
        except RuntimeError:  # `~nobody/…`: a user without a home directory
            self.errors.append(self.doc.error(loc, f"cannot read secret file {name}: no such user or home directory"))
            return None
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            self.errors.append(self.doc.error(loc, f"cannot read secret file {name}: {reason}"))
            return None

    def hide_secrets(self, errors: list[SourceError]) -> list[SourceError]:
        """Second line of defence: no message may carry a value read from the environment or a secret file."""
        from notifier.safety.redact import Redactor

        redactor = Redactor(self.secrets)
        return [SourceError(error.path, error.line, redactor.text(error.message)) for error in errors]
