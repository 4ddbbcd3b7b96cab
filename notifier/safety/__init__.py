"""What may leave the process or be stored: configured secrets redacted, untrusted text neutralized and capped.

One `Scrubber` does all three, and every exit uses it: notifications when they are decided (so what is
stored is what every channel sends), the state store's error columns and alert events, the status page and
its API, `/metrics`, `notifier watch` and `outbox list`, and every log line. Text from IPS and receivers is
untrusted: it may echo a password, carry terminal escapes or bidi overrides, or be a megabyte long.
"""

from notifier.safety.scrub import FIELD, SCRUBBER, TEXT, Scrubber, scrub

__all__ = ["FIELD", "SCRUBBER", "TEXT", "Scrubber", "learn", "scrub"]


def learn(config: object) -> None:
    """Redact every secret of `config` from now on (those of configurations loaded before stay redacted)."""
    from notifier.safety.redact import secret_values

    SCRUBBER.redactor.add(secret_values(config))
