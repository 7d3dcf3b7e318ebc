"""Errors a connector raises: each says what to do and whose fault it is."""

from __future__ import annotations

import enum


class Fault(enum.StrEnum):
    PLATFORM = "platform"  # the platform failed or broke its own contract
    SELLER = "seller"  # the seller must act (re-authorize, grant a scope)
    OURS = "ours"  # a bug or misconfiguration on our side


class Action(enum.StrEnum):
    RETRY = "retry"
    REAUTHORIZE = "reauthorize"
    SKIP_RECORD = "skip_record"
    FAIL_RUN = "fail_run"


class ConnectorError(Exception):
    action: Action = Action.FAIL_RUN
    fault: Fault = Fault.OURS

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class RetryableError(ConnectorError):
    """429, 5xx, timeouts, cut connections: retried by the client's policy."""

    action = Action.RETRY
    fault = Fault.PLATFORM

    def __init__(
        self, message: str, *, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class ReauthorizationRequired(ConnectorError):
    """The grant is revoked or expired (invalid_grant, 401 after a refresh)."""

    action = Action.REAUTHORIZE
    fault = Fault.SELLER


class PlatformContractError(ConnectorError):
    """The platform answered something its contract does not allow (e.g. a repeated page token)."""

    action = Action.FAIL_RUN
    fault = Fault.PLATFORM


class PaginationLoopError(PlatformContractError):
    """A page token came back twice: stop instead of syncing forever."""


class RequestRejected(ConnectorError):
    """A 4xx other than 401/429: our request was wrong."""

    action = Action.FAIL_RUN
    fault = Fault.OURS


class AuthorizationFailed(ConnectorError):
    """The consent callback or the code exchange failed; the seller must start connecting again.

    ``reason`` is a short machine-readable cause: ``access_denied`` (the seller declined),
    ``state_mismatch`` (the callback does not belong to this session), ``missing_code``,
    ``missing_account_id``, ``invalid_grant`` (code expired or already used), or the OAuth error
    code the token endpoint returned.
    """

    action = Action.REAUTHORIZE
    fault = Fault.SELLER

    def __init__(self, message: str, *, reason: str, status_code: int | None = None) -> None:
        super().__init__(message, status_code=status_code)
        self.reason = reason
