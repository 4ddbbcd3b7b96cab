"""structlog set-up: JSON lines for machines, console rendering for people; always on stderr.

Secrets never reach a log through our own calls (settings objects hide them in their repr); the redaction
processor is the second line of defence for anything a library puts in an exception message.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any

import structlog
from pydantic import BaseModel, SecretStr
from structlog.typing import EventDict, WrappedLogger

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class Redactor:
    """Replaces every known secret value, wherever it appears in a log line, with `***`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: list[str] = []
        self.update(secrets)

    def update(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret containing another is replaced whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
        if not self.secrets:
            return event_dict
        return {k: self._scrub(v) for k, v in event_dict.items()}

    def _scrub(self, value: Any) -> Any:
        """Strings are cleaned, containers walked (their shape kept for the JSON renderer); any other object is
        replaced by its cleaned text only when that text holds a secret."""
        if value is None or isinstance(value, int | float | bool):
            return value
        if isinstance(value, dict):
            return {k: self._scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrub(v) for v in value]
        text = value if isinstance(value, str) else str(value)
        cleaned = text
        for secret in self.secrets:
            if secret in cleaned:
                cleaned = cleaned.replace(secret, "***")
        return value if cleaned is text and not isinstance(value, str) else cleaned


REDACTOR = Redactor()


class _CurrentStderr:
    """Whatever `sys.stderr` is when a line is written, not when logging was configured: embedding code and
    test runners swap it, and a logger holding on to a closed stream would fail every later log call."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(fmt: str = "auto", level: str = "info", secrets: Iterable[str] = ()) -> None:
    """Configure structlog once per process; `auto` renders for a console when stderr is a TTY."""
    REDACTOR.update(secrets)
    console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: Any = structlog.dev.ConsoleRenderer() if console else structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            REDACTOR,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS.get(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


def secret_values(config: object) -> list[str]:
    """Every secret string in a validated configuration (its `SecretStr` values), for the redactor."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(config)
    return [s for s in found if s]
