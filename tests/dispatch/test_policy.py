"""The retry policy, table-tested: every HTTP status, transport failures, SMTP replies and Slack error codes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from notifier.channels.base import (
    ConfigurationError,
    HttpStatusError,
    SendError,
    SlackApiError,
    SmtpReplyError,
    TransportFailure,
)
from notifier.dispatch.policy import (
    SLACK_DEAD,
    SLACK_DISABLE,
    SLACK_RETRY,
    RetrySettings,
    Verdict,
    backoff,
    decide,
    parse_retry_after,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SETTINGS = RetrySettings(base=2.0, cap=900.0, max_attempts=10, max_unknown_attempts=3, max_retry_after=3600.0)

EXPECTED_HTTP: dict[int, str] = {
    **dict.fromkeys(range(100, 200), "retry"),  # a 1xx final status is a broken peer: retried, but not for long
    **dict.fromkeys(range(200, 300), "delivered"),
    **dict.fromkeys(range(300, 400), "retry"),  # never followed, asked again later
    **dict.fromkeys(range(400, 600), "retry"),  # as Standard Webhooks senders do: every non-2xx on the schedule
    410: "disable",
}


def verdict(error: SendError | None, attempt: int = 1, seed: int = 7, **kw: object) -> Verdict:
    return decide(error, attempt, now=NOW, rng=random.Random(seed), settings=SETTINGS, **kw)  # type: ignore[arg-type]


def test_success_is_delivered() -> None:
    """No error means the delivery is done, with no delay."""
    assert verdict(None) == Verdict("delivered", None, "delivered")


@pytest.mark.parametrize("status", range(100, 600))
def test_every_http_status(status: int) -> None:
    """Each status from 100 to 599 maps to the action the design documents."""
    result = verdict(HttpStatusError(status))
    assert result.action == EXPECTED_HTTP[status]
    assert (result.delay is not None) == (result.action == "retry")
    assert str(status) in result.reason


@pytest.mark.parametrize(
    ("status", "final", "action"),
    [(400, True, "dead"), (400, False, "retry"), (429, False, "retry"), (503, False, "retry")],
)
def test_the_receivers_reason_follows_ours(status: int, final: bool, action: str) -> None:
    """A receiver's own explanation is kept in the reason (the dead letter's error), after the status; a status
    the receiver's API defines as final for the request (PagerDuty's 400) is dead at once."""
    result = verdict(HttpStatusError(status, None, "invalid event: Event object is invalid", final=final))
    assert (result.action, result.reason) == (action, f"HTTP {status} (invalid event: Event object is invalid)")


def test_redirect_reason_says_it_was_not_followed() -> None:
    """A 3xx retry tells the operator the redirect was not followed and the URL needs fixing if it stays."""
    assert "redirect not followed" in verdict(HttpStatusError(302)).reason


@pytest.mark.parametrize("status", [301, 302, 307, 308, 400, 401, 403, 404, 413, 422])
def test_a_receiver_answering_an_error_for_a_while_keeps_its_full_retry_budget(status: int) -> None:
    """A receiver mid-deploy (404, 401, a redirect, a proxy's 413) is retried until `max_attempts`, like a 503."""
    assert verdict(HttpStatusError(status), attempt=SETTINGS.max_attempts - 1).action == "retry"
    assert verdict(HttpStatusError(status), attempt=SETTINGS.max_attempts).action == "dead"


@pytest.mark.parametrize("status", [0, 99, 100, 101, 199, 600, 999])
def test_a_status_that_is_not_a_final_http_status_is_retried_only_a_few_times(status: int) -> None:
    """A 1xx as the final answer, or a number outside 100–599, is retried up to the unknown-outcome limit."""
    assert verdict(HttpStatusError(status), attempt=SETTINGS.max_unknown_attempts - 1).action == "retry"
    assert verdict(HttpStatusError(status), attempt=SETTINGS.max_unknown_attempts).action == "dead"


@pytest.mark.parametrize("kind", ["timeout", "connection", "protocol"])
def test_transient_transport_failures_retry(kind: str) -> None:
    """Timeouts, connection failures and garbled replies are retried with a backoff delay."""
    result = verdict(TransportFailure(kind, "x"))  # type: ignore[arg-type]
    assert result.action == "retry"
    assert result.delay is not None
    assert 0 <= result.delay <= SETTINGS.base


@pytest.mark.parametrize("detail", ["STARTTLS required but not offered", "SSLCertVerificationError: expired"])
def test_tls_failure_is_retried_on_the_normal_schedule(detail: str) -> None:
    """A TLS failure (an expired certificate, a cut handshake, STARTTLS missing) may be fixed within the retry
    window, so it keeps the full budget; the reason says it was TLS."""
    result = verdict(TransportFailure("tls", detail), attempt=SETTINGS.max_attempts - 1)
    assert result.action == "retry"
    assert result.reason == f"TLS failure: {detail}"


@pytest.mark.parametrize(
    ("code", "action"),
    [
        (421, "retry"),
        (450, "retry"),
        (451, "retry"),
        (452, "retry"),
        (454, "retry"),
        (552, "retry"),
        (500, "dead"),
        (501, "dead"),
        (530, "dead"),
        (535, "dead"),
        (550, "dead"),
        (553, "dead"),
        (554, "dead"),
    ],
)
def test_smtp_replies(code: int, action: str) -> None:
    """SMTP 4xx replies are retried, 5xx dead-lettered, except 552 which RFC 5321 says to treat as temporary."""
    assert verdict(SmtpReplyError(code, "reply")).action == action


def test_unexpected_smtp_code_is_retried_a_few_times() -> None:
    """A reply code outside 4xx/5xx is retried, but only up to the unknown-outcome limit."""
    assert verdict(SmtpReplyError(250, "odd"), attempt=1).action == "retry"
    assert verdict(SmtpReplyError(250, "odd"), attempt=SETTINGS.max_unknown_attempts).action == "dead"


@pytest.mark.parametrize(
    ("error", "status", "action"),
    [
        ("ratelimited", 429, "retry"),
        ("rate_limited", 429, "retry"),
        ("internal_error", 200, "retry"),
        ("fatal_error", 200, "retry"),
        ("service_unavailable", 200, "retry"),
        ("request_timeout", 200, "retry"),
        ("invalid_auth", 200, "disable"),
        ("not_authed", 200, "disable"),
        ("account_inactive", 200, "disable"),
        ("token_revoked", 200, "disable"),
        ("no_service", 404, "disable"),
        ("invalid_token", 403, "disable"),
        ("channel_not_found", 200, "dead"),
        ("channel_not_found", 404, "dead"),
        ("is_archived", 200, "dead"),
        ("channel_is_archived", 410, "dead"),
        ("not_in_channel", 200, "dead"),
        ("no_permission", 200, "dead"),
        ("invalid_blocks", 200, "dead"),
        ("msg_too_long", 200, "dead"),
        ("invalid_payload", 400, "dead"),
        ("action_prohibited", 403, "dead"),
        ("http_503", 503, "retry"),
        ("http_404", 404, "retry"),
        ("http_410", 410, "disable"),
        ("something_new", 200, "retry"),
        ("something_new", None, "retry"),
    ],
)
def test_slack_errors(error: str, status: int | None, action: str) -> None:
    """Slack error codes map to retry, dead or disable; unknown codes fall back to their HTTP status."""
    assert verdict(SlackApiError(error, status)).action == action


def test_unknown_slack_error_gives_up_early() -> None:
    """An unclassified Slack error is retried only `max_unknown_attempts` times."""
    assert verdict(SlackApiError("something_new", 200), attempt=2).action == "retry"
    assert verdict(SlackApiError("something_new", 200), attempt=3).action == "dead"


def test_slack_ratelimit_honours_retry_after() -> None:
    """Slack's Retry-After on a rate limit sets the delay (plus at most `base` seconds of jitter)."""
    result = verdict(SlackApiError("ratelimited", 429, "30"))
    assert result.delay is not None
    assert 30 <= result.delay <= 30 + SETTINGS.base


def test_configuration_error_is_dead() -> None:
    """A delivery that cannot be sent as configured is dead-lettered at once."""
    assert verdict(ConfigurationError("no valid recipients")).action == "dead"


def test_retry_after_seconds() -> None:
    """A delta-seconds Retry-After is honoured on a 503."""
    result = verdict(HttpStatusError(503, "120"))
    assert result.delay is not None
    assert 120 <= result.delay <= 120 + SETTINGS.base


def test_retry_after_http_date() -> None:
    """An HTTP-date Retry-After is measured from the injected `now`."""
    later = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    result = verdict(HttpStatusError(429, later))
    assert result.delay is not None
    assert 90 <= result.delay <= 90 + SETTINGS.base


def test_retry_after_in_the_past_is_not_negative() -> None:
    """A Retry-After date already gone means retry now-ish, never a negative delay."""
    earlier = format_datetime(NOW - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(earlier, NOW) == 0.0
    assert parse_retry_after("-5", NOW) == 0.0


def test_retry_after_is_capped() -> None:
    """A receiver asking for a day's pause is retried after `max_retry_after` at most."""
    assert verdict(HttpStatusError(503, "86400")).delay == SETTINGS.max_retry_after


@pytest.mark.parametrize("value", [None, "", "soon", "Thu, 99 Foo 2026", "nan", "inf"])
def test_unparseable_retry_after_falls_back_to_backoff(value: str | None) -> None:
    """A missing or malformed Retry-After is ignored in favour of jittered backoff."""
    assert parse_retry_after(value, NOW) is None
    result = verdict(HttpStatusError(503, value), attempt=1)
    assert result.delay is not None
    assert 0 <= result.delay <= SETTINGS.base


def test_backoff_full_jitter_bounds() -> None:
    """Backoff is uniform in [0, min(cap, base·2^(attempt-1))] and actually spreads out."""
    rng = random.Random(42)
    for attempt in range(1, 40):
        window = min(SETTINGS.cap, SETTINGS.base * 2 ** (attempt - 1))
        samples = [backoff(attempt, rng=rng, settings=SETTINGS) for _ in range(200)]
        assert all(0 <= s <= window for s in samples)
        assert max(samples) > window / 2
        assert min(samples) < window / 2


def test_backoff_is_deterministic_for_a_seed() -> None:
    """The same seed gives the same delays, so tests and replays are reproducible."""
    assert verdict(HttpStatusError(500), attempt=5, seed=1) == verdict(HttpStatusError(500), attempt=5, seed=1)


def test_huge_attempt_numbers_do_not_overflow() -> None:
    """Backoff stays within the cap however many attempts were made."""
    assert 0 <= backoff(10_000, rng=random.Random(0), settings=SETTINGS) <= SETTINGS.cap


def test_max_attempts_dead_letters() -> None:
    """The last allowed attempt failing transiently is dead-lettered with the reason kept."""
    assert verdict(HttpStatusError(503), attempt=SETTINGS.max_attempts - 1).action == "retry"
    last = verdict(HttpStatusError(503), attempt=SETTINGS.max_attempts)
    assert last.action == "dead"
    assert "HTTP 503" in last.reason
    assert "gave up" in last.reason


def test_max_age_dead_letters() -> None:
    """A delivery first tried longer ago than `max_age` is not retried again."""
    old = NOW - timedelta(seconds=(SETTINGS.max_age or 0) + 1)
    assert verdict(HttpStatusError(503), since=old).action == "dead"
    assert verdict(HttpStatusError(503), since=NOW - timedelta(minutes=5)).action == "retry"


def test_a_gone_endpoint_disables_at_the_first_attempt() -> None:
    """A 410 disables the channel at once, not after retries."""
    assert verdict(HttpStatusError(410), attempt=1).action == "disable"


@pytest.mark.parametrize("code", range(400, 600))
def test_every_smtp_reply_code(code: int) -> None:
    """Every SMTP 4xx reply is retried, every 5xx dead-lettered except 552 (RFC 5321: treat as temporary)."""
    expected = "retry" if code < 500 or code == 552 else "dead"
    result = verdict(SmtpReplyError(code, "reply"))
    assert result.action == expected
    assert f"SMTP {code}" in result.reason


@pytest.mark.parametrize("code", [0, 220, 250, 354, 600, 999])
def test_smtp_code_outside_4xx_5xx_is_unclassified(code: int) -> None:
    """A reply code that is no refusal at all is retried, but only up to the unknown-outcome limit."""
    assert verdict(SmtpReplyError(code, "odd")).action == "retry"
    assert verdict(SmtpReplyError(code, "odd"), attempt=SETTINGS.max_unknown_attempts).action == "dead"


@pytest.mark.parametrize("code", sorted(SLACK_RETRY))
@pytest.mark.parametrize("status", [200, None])
def test_every_transient_slack_code_retries(code: str, status: int | None) -> None:
    """Each transient Slack code is retried with the full attempt budget, whatever the HTTP status."""
    assert verdict(SlackApiError(code, status), attempt=SETTINGS.max_unknown_attempts).action == "retry"


@pytest.mark.parametrize("code", sorted(SLACK_DISABLE))
def test_every_credential_slack_code_disables_the_channel(code: str) -> None:
    """A revoked or invalid credential disables the channel (its row dead, the others kept waiting)."""
    assert verdict(SlackApiError(code, 200)).action == "disable"


@pytest.mark.parametrize("code", sorted(SLACK_DEAD))
@pytest.mark.parametrize("status", [200, 400, 404])
def test_every_permanent_slack_code_is_dead(code: str, status: int) -> None:
    """A message Slack will never accept as it is is dead-lettered at once, whatever the HTTP status."""
    assert verdict(SlackApiError(code, status)).action == "dead"


def test_named_slack_codes_from_the_contract() -> None:
    """invalid_auth and channel_not_found never retry; ratelimited does, honouring Retry-After."""
    assert verdict(SlackApiError("invalid_auth", 200)).action in ("dead", "disable")
    assert verdict(SlackApiError("channel_not_found", 200)).action == "dead"
    limited = verdict(SlackApiError("ratelimited", 429, "7"))
    assert limited.action == "retry"
    assert limited.delay is not None
    assert 7 <= limited.delay <= 7 + SETTINGS.base


def test_slack_429_without_a_known_code_still_retries() -> None:
    """HTTP 429 from Slack is a rate limit whatever the body said, with its Retry-After as an HTTP-date."""
    later = format_datetime(NOW + timedelta(seconds=45), usegmt=True)
    result = verdict(SlackApiError("http_429", 429, later))
    assert result.action == "retry"
    assert result.delay is not None
    assert 45 <= result.delay <= 45 + SETTINGS.base


def test_unclassified_send_error_is_retried_a_few_times() -> None:
    """A bare SendError (a channel bug, an unknown failure) is retried, but only `max_unknown_attempts` times."""
    assert verdict(SendError("odd"), attempt=SETTINGS.max_unknown_attempts - 1).action == "retry"
    assert verdict(SendError("odd"), attempt=SETTINGS.max_unknown_attempts).action == "dead"


def test_retry_after_on_a_gone_endpoint_is_ignored() -> None:
    """A 410 asking to come back later still disables: Retry-After only shapes retries, never creates them."""
    assert verdict(HttpStatusError(410, "5")) == Verdict("disable", None, "HTTP 410: the endpoint is gone")


def test_retry_after_on_a_client_error_is_honoured() -> None:
    """A 404 or 401 with Retry-After (a receiver deploying) comes back when it asked."""
    result = verdict(HttpStatusError(404, "60"))
    assert result.delay is not None
    assert 60 <= result.delay <= 60 + SETTINGS.base


def test_retry_after_does_not_extend_the_attempt_budget() -> None:
    """On the last allowed attempt a 429 is dead-lettered even though the receiver asked us to wait."""
    assert verdict(HttpStatusError(429, "10"), attempt=SETTINGS.max_attempts).action == "dead"
