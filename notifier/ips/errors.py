"""Typed failures of an IPS call, each saying whether trying again later can help."""

from __future__ import annotations

FaultKind = str  # "authentication" | "authorization" | "ipsApi" | "unknown"


class IpsError(Exception):
    """Base of every IPS failure; `retryable` tells the poller whether a normal backoff is enough."""

    retryable: bool = True


class IpsParseError(IpsError):
    """The response was not a well-formed, safe SOAP envelope of the expected shape."""

    retryable = True


class IpsTransportError(IpsError):
    """The HTTP exchange failed: connection refused, reset, a non-SOAP status, an oversized body …"""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class IpsTimeout(IpsTransportError):
    """No complete answer within the configured timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class IpsFault(IpsError):
    """A SOAP fault from the service, with the IPS fault detail when there is one.

    Authentication and authorization faults are not retryable in a tight loop: the credentials or the
    user's rights must change first, so the poller backs off hard.
    """

    def __init__(
        self,
        *,
        faultcode: str,
        faultstring: str,
        kind: FaultKind,
        code: int | None,
        reason: str | None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(f"{faultstring} ({kind} {code}): {reason}" if code is not None else faultstring)
        self.faultcode = faultcode
        self.faultstring = faultstring
        self.kind = kind
        self.code = code
        self.reason = reason
        self.http_status = http_status
        self.retryable = kind not in ("authentication", "authorization") and code not in (30001, 30002, 30003)

    @property
    def is_auth(self) -> bool:
        return self.kind in ("authentication", "authorization")
