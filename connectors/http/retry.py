"""One retry policy for every platform call, applied with tenacity.

What is retried: HTTP 429 and 5xx gateway/server statuses, and transport failures (refused or
cut connections, read errors, timeouts). A ``Retry-After`` header (seconds or an HTTP date,
RFC 9110 §10.2.3) sets the wait, capped; otherwise the wait grows exponentially with jitter so
many clients do not retry in step (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
When the attempts are used up, a :class:`RetryableError` says the last status and the count:
the run can be retried later.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    RetryError,
    retry_if_exception_type,
    stop_after_attempt,
)

from connectors.errors import RetryableError

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def _utcnow() -> datetime:
    return datetime.now(UTC)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from ``Retry-After`` value (delta-seconds or HTTP date); None if unusable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; ``sleep``, ``clock`` and ``rand`` are injectable."""

    max_attempts: int = 5
    base_delay: float = 1.0  # first backoff, seconds
    max_delay: float = 60.0  # backoff ceiling
    max_retry_after: float = 300.0  # a platform's Retry-After is honoured up to this
    jitter: float = 0.5  # the backoff is reduced by up to this fraction, at random
    retry_statuses: frozenset[int] = RETRY_STATUSES
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False)
    clock: Callable[[], datetime] = field(default=_utcnow, repr=False)
    rand: Callable[[], float] = field(default=random.random, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def backoff(self, attempt: int) -> float:
        """Wait after failed attempt number ``attempt`` (1-based) when the platform gave no hint."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling * (1 - self.jitter * self.rand())

    def delay(self, error: RetryableError, attempt: int) -> float:
        if error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        return self.backoff(attempt)

    def error_for_response(self, response: httpx.Response, what: str) -> RetryableError | None:
        """A RetryableError when ``response`` has a retryable status, else None."""
        if response.status_code not in self.retry_statuses:
            return None
        retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock())
        return RetryableError(
            f"{what}: HTTP {response.status_code}",
            status_code=response.status_code,
            retry_after=retry_after,
        )

    @staticmethod
    def error_for_transport(exc: httpx.TransportError, what: str) -> RetryableError:
        """Transport failures (timeouts, refused/cut connections, read errors) are retryable."""
        return RetryableError(f"{what}: {type(exc).__name__}")

    async def run(self, call: Callable[[], Awaitable[T]], what: str = "request") -> T:
        """Await ``call()`` until it succeeds or raises something other than RetryableError."""

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if not isinstance(error, RetryableError):  # pragma: no cover - retry filter
                return self.backoff(state.attempt_number)
            seconds = self.delay(error, state.attempt_number)
            log.warning(
                "%s failed (%s), attempt %d of %d; retrying in %.2f s",
                what,
                error,
                state.attempt_number,
                self.max_attempts,
                seconds,
            )
            return seconds

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=wait,
            retry=retry_if_exception_type(RetryableError),
            sleep=self.sleep,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await call()
        except RetryError as exhausted:
            last = exhausted.last_attempt.exception()
            status = getattr(last, "status_code", None)
            cause = f"HTTP {status}" if status is not None else str(last).removeprefix(f"{what}: ")
            raise RetryableError(
                f"{what}: gave up after {self.max_attempts} attempts, last failure {cause}",
                status_code=status,
                retry_after=getattr(last, "retry_after", None),
            ) from last
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover
