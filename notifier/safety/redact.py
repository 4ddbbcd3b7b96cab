"""Configured secrets, found in a validated config, and removed from any text in every form an echo takes.

A server or receiver that echoes a request may return a secret as sent, XML- or HTML-escaped, percent-encoded
or inside JSON; each of those spellings is redacted. Values shorter than four characters are never treated
as secrets: they would blank out ordinary words.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

from pydantic import BaseModel, SecretStr

MARK = "***"
MIN_LENGTH = 4
SECRET_PREFIXES = ("whsec_",)  # a scheme prefix before the secret itself: the rest is a secret on its own


def spellings(secret: str) -> set[str]:
    """The ways `secret` can appear in an echo: as is, escaped for XML/HTML, percent-encoded, inside JSON."""
    return {
        secret,
        html.escape(secret, quote=False),
        html.escape(secret, quote=True),
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }


class Redactor:
    """Replaces every spelling of every known secret, wherever it appears in a text, with `***`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: list[str] = []
        self._pattern: re.Pattern[str] | None = None
        self.update(secrets)

    def update(self, secrets: Iterable[str]) -> None:
        """Redact exactly `secrets` from now on (with the parts of them that are secrets of their own)."""
        found = {part for secret in secrets for part in _parts(secret) if len(part) >= MIN_LENGTH}
        self.secrets = sorted(found, key=len, reverse=True)
        every = {form for secret in self.secrets for form in spellings(secret)}
        # Longest first, so a secret containing another is replaced whole.
        alternatives = sorted(every, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, alternatives))) if alternatives else None

    def add(self, secrets: Iterable[str]) -> None:
        """Redact `secrets` too (a reload never forgets a secret the process may still meet in old text)."""
        self.update([*self.secrets, *secrets])

    def text(self, text: str) -> str:
        pattern = self._pattern
        return text if pattern is None or pattern.search(text) is None else pattern.sub(MARK, text)


def _parts(secret: str) -> list[str]:
    """A secret and what in it is secret on its own: the key after `whsec_`; a URL's credentials, path and
    query values (a Slack webhook URL is a credential, and its path is one even when echoed alone)."""
    parts = [secret]
    for prefix in SECRET_PREFIXES:
        if secret.startswith(prefix):
            parts.append(secret[len(prefix) :])
    if re.match(r"^https?://", secret):
        parts.extend(url_secrets(secret, whole=True))
    return parts


def url_secrets(url: str, *, whole: bool = False) -> list[str]:
    """Credentials in a URL (`user:password@`, query values); with `whole`, its path as well."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    found = [password] if password else []
    if password and parts.username:
        found.append(f"{parts.username}:{password}")
    found.extend(value for _, value in parse_qsl(parts.query) if len(value) >= 8)
    if whole and len(parts.path) >= 8:
        found.append(parts.path)
    return found


def secret_values(config: object) -> list[str]:
    """Every secret in a validated configuration: its `SecretStr` values, credentials inside any URL it holds
    (a webhook URL with `user:password@` or a `?token=`, a database URL), and extra webhook header values
    (an `Authorization` header is a credential; any header value may be one)."""
    found: list[str] = []

    def walk(value: object, key: str = "") -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name), name)
        elif isinstance(value, dict):
            for name, item in value.items():
                if key == "headers" and isinstance(item, str):
                    found.append(item)
                walk(item, str(name))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item, key)
        elif isinstance(value, str) and "://" in value:
            found.extend(url_secrets(value))

    walk(config)
    return [s for s in found if s]
