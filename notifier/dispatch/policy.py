"""The retry policy: one pure function from a send's outcome to delivered, retry (when), dead or disable.

Channels report raw facts; only this module judges them, so the whole policy is table-tested in one place.
Time and randomness are passed in, so the same inputs always give the same verdict.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

from notifier.channels.base import (
    ConfigurationError,
    HttpStatusError,
    SendError,
    SlackApiError,
    SmtpReplyError,
    TransportFailure,
)
from notifier.runtime.backoff import Backoff

Action = Literal["delivered", "retry", "dead", "disable"]

# RFC 5321 §4.5.3.1.10: 552 ("storage exceeded") to RCPT was historically sent where 452 was meant and
# "SHOULD" be treated as temporary; a full mailbox also tends to be emptied. Other 5xx replies are final.
RETRY_SMTP_5XX = frozenset({552})

SLACK_RETRY = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# The credential or the incoming webhook itself is gone: every later message would fail the same way, so the
# channel is disabled (its queue kept) rather than dead-lettering each notification until someone notices.
SLACK_DISABLE = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "invalid_token",
        "no_service",
        "no_service_id",
        "team_disabled",
        "no_team",
    }
)
# This message can never be posted as it is (target, permission or payload problem): dead-letter it.
SLACK_DEAD = frozenset(
    {
        "channel_not_found",
        "channel_is_archived",
        "is_archived",
        "not_in_channel",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "restricted_action",
        "restricted_action_read_only_channel",
        "action_prohibited",
        "posting_to_general_channel_denied",
        "user_not_found",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_payload",
        "invalid_arguments",
        "invalid_arg_name",
        "invalid_form_data",
        "invalid_json",
        "json_not_object",
        "msg_too_long",
        "no_text",
        "too_many_attachments",
        "method_deprecated",
        "deprecated_endpoint",
        "access_denied",
    }
)


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """Backoff shape and give-up limits; the defaults ride out a receiver outage of a day (overnight, a weekend
    morning): past `max_age`, or `max_attempts`, a delivery becomes a dead letter that an operator can retry."""

    base: float = 2.0  # seconds; the first retry waits up to this long
    cap: float = 900.0  # no backoff window grows beyond this
    max_attempts: int = 250  # about a day at the cap's average wait: `max_age` is what normally ends it
    max_unknown_attempts: int = 5  # outcomes we cannot classify are retried, but not for long
    max_retry_after: float = 3600.0  # a receiver may ask us to wait, but not forever
    max_age: float | None = 86400.0  # seconds since the first attempt after which we stop trying


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with a delivery after one attempt; `delay` (seconds) is set only for `retry`."""

    action: Action
    delay: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class _Outcome:
    action: Action
    reason: str
    retry_after: str | None = None
    limited: bool = False  # unclassified: retry at most `max_unknown_attempts` times


def decide(
    error: SendError | None,
    attempt: int,
    *,
    now: datetime,
    rng: random.Random,
    settings: RetrySettings,
    since: datetime | None = None,
) -> Verdict:
    """The verdict for attempt number `attempt` (1-based) that ended with `error` (None: accepted).

    `since` is when the delivery was first attempted or created; past `settings.max_age` a retry becomes dead.
    """
    if error is None:
        return Verdict("delivered", None, "delivered")
    outcome = classify(error)
    if outcome.action != "retry":
        return Verdict(outcome.action, None, outcome.reason)
    limit = min(settings.max_attempts, settings.max_unknown_attempts) if outcome.limited else settings.max_attempts
    if attempt >= limit:
        return Verdict("dead", None, f"{outcome.reason}; gave up after {attempt} attempts")
    if since is not None and settings.max_age is not None and (now - since).total_seconds() >= settings.max_age:
        return Verdict("dead", None, f"{outcome.reason}; gave up after {settings.max_age:g}s")
    return Verdict(
        "retry", retry_delay(outcome.retry_after, attempt, now=now, rng=rng, settings=settings), outcome.reason
    )


def classify(error: SendError) -> _Outcome:
    """The action an outcome calls for, before attempt and age limits are applied."""
    if isinstance(error, HttpStatusError):
        if error.final and not 200 <= error.status < 300:
            return _explained(_Outcome("dead", f"HTTP {error.status}"), error.detail)
        return _explained(classify_http(error.status, error.retry_after), error.detail)
    if isinstance(error, TransportFailure):
        return classify_transport(error)
    if isinstance(error, SmtpReplyError):
        return classify_smtp(error.code, error.message)
    if isinstance(error, SlackApiError):
        return classify_slack(error)
    if isinstance(error, ConfigurationError):
        return _Outcome("dead", f"configuration: {error}")
    return _Outcome("retry", f"unclassified failure: {error}", limited=True)


def classify_http(status: int, retry_after: str | None = None) -> _Outcome:
    """Every non-2xx is retried on the normal schedule, as Standard Webhooks senders do: a receiver mid-deploy
    answers 404 or 401 for a minute, a proxy 413 or a redirect until it is fixed. Only 410 is final."""
    reason = f"HTTP {status}"
    if 200 <= status < 300:
        return _Outcome("delivered", reason)
    if status == 410:
        return _Outcome("disable", f"{reason}: the endpoint is gone")
    if 300 <= status < 400:
        # Never followed (a redirect could carry a signed body to a host nobody configured); asked again later,
        # in case it was a deploy's passing state. If it stays, the configured URL needs fixing.
        return _Outcome("retry", f"{reason}: redirect not followed (fix the configured URL if it stays)")
    if 400 <= status < 600:
        return _Outcome("retry", reason, retry_after)
    # A 1xx as a final status, or anything outside 100–599, is not HTTP a receiver should send: retried, but
    # not for long, so a broken peer does not hold a retry slot for a day.
    return _Outcome("retry", f"{reason}: not a valid final status", limited=True)


def _explained(outcome: _Outcome, detail: str | None) -> _Outcome:
    """The receiver's own words after ours: "HTTP 400: invalid event: …" tells the operator what to fix."""
    if not detail:
        return outcome
    return _Outcome(outcome.action, f"{outcome.reason} ({detail})", outcome.retry_after, outcome.limited)


def classify_transport(error: TransportFailure) -> _Outcome:
    """Timeouts, refused or dropped connections, garbled replies and TLS failures (an expired certificate, a
    handshake cut by a restarting proxy, STARTTLS missing) are retried: an operator may fix any of them
    within the retry window, and a TLS failure never falls back to plaintext however often it is retried."""
    if error.kind == "tls":
        return _Outcome("retry", f"TLS failure: {error.detail}")
    return _Outcome("retry", f"{error.kind}: {error.detail}")


def classify_smtp(code: int, message: str = "") -> _Outcome:
    reason = f"SMTP {code} {message}".rstrip()
    if 400 <= code < 500 or code in RETRY_SMTP_5XX:
        return _Outcome("retry", reason)
    if 500 <= code < 600:
        return _Outcome("dead", reason)
    return _Outcome("retry", f"unexpected {reason}", limited=True)


def classify_slack(error: SlackApiError) -> _Outcome:
    reason = f"Slack {error.error}" + (f" (HTTP {error.status})" if error.status is not None else "")
    code = error.error
    if code in SLACK_RETRY or error.status == 429:
        return _Outcome("retry", reason, error.retry_after)
    if code in SLACK_DISABLE:
        return _Outcome("disable", reason)
    if code in SLACK_DEAD:
        return _Outcome("dead", reason)
    if error.status is not None and not 200 <= error.status < 300:
        # An unknown code on an HTTP error (a proxy's 502 page, a 404 from a removed webhook): the status decides.
        by_status = classify_http(error.status, error.retry_after)
        return _Outcome(by_status.action, reason, by_status.retry_after)
    return _Outcome("retry", reason, error.retry_after, limited=True)


def retry_delay(
    retry_after: str | None, attempt: int, *, now: datetime, rng: random.Random, settings: RetrySettings
) -> float:
    """Seconds to wait: the receiver's Retry-After when it gave one, else full-jitter exponential backoff."""
    asked = parse_retry_after(retry_after, now)
    if asked is not None:
        # Everyone told "retry in 30 s" would come back in the same second; a little jitter spreads the herd.
        return min(settings.max_retry_after, asked + rng.uniform(0.0, settings.base))
    return backoff(attempt, rng=rng, settings=settings)


def backoff(attempt: int, *, rng: random.Random, settings: RetrySettings) -> float:
    """Full jitter (uniform between 0 and the exponential window) keeps retries from synchronising."""
    return Backoff(base=settings.base, cap=settings.cap).delay(attempt, rng)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from `now` (delta-seconds or HTTP-date; never negative); None when absent or bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until(text, now)
    return max(0.0, seconds) if seconds == seconds and seconds != float("inf") else None


def _seconds_until(http_date: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a zone-less one means the same
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
