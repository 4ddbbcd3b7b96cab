"""structlog set-up: JSON lines for machines, console rendering for people; always on stderr.

Secrets never reach a log through our own calls (settings objects hide them in their repr); the scrubbing
processor is the second line of defence for anything a library puts in an exception message, and keeps
terminal escapes and megabyte values from IPS out of the log too.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

from notifier.safety import SCRUBBER

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


LOG_LIMIT = 8192  # characters per logged value: a traceback fits, a megabyte job name does not


def scrub_log(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """The structlog processor: every value goes through the one scrubber (secrets, controls, length)."""
    return SCRUBBER(event_dict, LOG_LIMIT, objects=True)


REDACTOR = SCRUBBER.redactor  # the secrets every exit redacts, logs included


class _CurrentStderr:
    """Whatever `sys.stderr` is when a line is written, not when logging was configured: embedding code and
    test runners swap it, and a logger holding on to a closed stream would fail every later log call."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(fmt: str = "auto", level: str = "info", secrets: Iterable[str] = ()) -> None:
    """Configure structlog once per process; `auto` renders for a console when stderr is a TTY. `secrets` are
    added to those every exit redacts."""
    REDACTOR.add(secrets)
    console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: Any = structlog.dev.ConsoleRenderer() if console else structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            scrub_log,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS.get(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
