"""Rate budgets: one token bucket per (platform, account, bucket), shared in the process.

Platforms meter calls per seller account, not per client object: Amazon SP-API applies a
token bucket per selling partner, application and operation
(https://developer-docs.amazon.com/sp-api/docs/usage-plans-and-rate-limits-in-the-sp-api);
Stripe counts requests per account (https://docs.stripe.com/rate-limits). So every client of
one account in this process must draw from the same bucket, or two syncs of the same seller
would together exceed the limit and cause a storm of 429s. :class:`RateBudgetRegistry` hands
out that one shared :class:`RateBudget`.

A budget follows what the platform says: Amazon returns the rate it applied in
``x-amzn-RateLimit-Limit`` (it may differ from the documented default), and a 429 means the
platform's bucket is empty, so ours drains too and every caller waits for the refill.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from aiolimiter import AsyncLimiter

from connectors.errors import ConnectorError
from connectors.model import PlatformFacts, RateLimit

log = logging.getLogger(__name__)


def _free_tokens(limiter: AsyncLimiter) -> int:
    """Whole requests the limiter would admit right now (public API only)."""
    free = 0
    while free < limiter.max_rate and limiter.has_capacity(free + 1):
        free += 1
    return free


class _Bucket:
    """One token bucket: ``rate`` requests/s refill, ``burst`` capacity.

    aiolimiter's leaky bucket with capacity ``burst`` over ``burst / rate`` seconds is exactly
    that. A limiter belongs to one event loop, so a new loop gets a fresh one.
    """

    def __init__(self, limit: RateLimit) -> None:
        if limit.rate <= 0 or limit.burst < 1:
            raise ValueError(f"invalid rate limit {limit}")
        self.limit = limit
        self._limiter: AsyncLimiter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _new_limiter(self) -> AsyncLimiter:
        return AsyncLimiter(self.limit.burst, self.limit.burst / self.limit.rate)

    def _current(self) -> AsyncLimiter:
        loop = asyncio.get_running_loop()
        if self._limiter is None or self._loop is not loop:
            self._limiter, self._loop = self._new_limiter(), loop
        return self._limiter

    async def acquire(self) -> None:
        await self._current().acquire()

    def available(self) -> int:
        return _free_tokens(self._current())

    async def set_rate(self, rate: float) -> None:
        """Adopt a new refill rate, keeping what is already spent (the burst stays).

        Callers already waiting on the old limiter finish at the old rate; new ones use the new.
        """
        if rate <= 0 or math.isclose(rate, self.limit.rate, rel_tol=1e-9):
            return
        old = self._current()
        spent = self.limit.burst - _free_tokens(old)
        self.limit = RateLimit(rate=rate, burst=self.limit.burst)
        self._limiter = self._new_limiter()
        if spent > 0:
            await self._limiter.acquire(spent)  # an empty new bucket admits this at once

    async def drain(self) -> None:
        """Use up every free token: callers wait for the refill, as the platform's bucket does."""
        limiter = self._current()
        free = _free_tokens(limiter)
        if free:
            await limiter.acquire(free)


class RateBudget:
    """The buckets of one platform account. ``async with budget.slot("searchOrders"): ...``"""

    def __init__(
        self,
        platform: str,
        account: str,
        limits: Mapping[str, RateLimit],
        *,
        rate_header: str | None = None,
    ) -> None:
        self.platform = platform
        self.account = account
        self.rate_header = rate_header
        self._limits = dict(limits)
        self._buckets: dict[str, _Bucket] = {}

    def __repr__(self) -> str:
        return f"RateBudget({self.platform!r}, account={self.account!r})"

    def _bucket(self, name: str) -> _Bucket:
        bucket = self._buckets.get(name)
        if bucket is None:
            if name not in self._limits:
                known = ", ".join(sorted(self._limits))
                raise ConnectorError(
                    f"{self.platform}: no rate limit declared for bucket {name!r} (known: {known})"
                )
            bucket = self._buckets[name] = _Bucket(self._limits[name])
        return bucket

    @asynccontextmanager
    async def slot(self, bucket: str) -> AsyncIterator[None]:
        """Wait for one request's worth of the bucket, then run the block."""
        await self._bucket(bucket).acquire()
        yield

    def rate(self, bucket: str) -> float:
        return self._bucket(bucket).limit.rate

    def available(self, bucket: str) -> int:
        """Requests the bucket admits right now without waiting (needs a running loop)."""
        return self._bucket(bucket).available()

    async def set_rate(self, bucket: str, rate: float) -> None:
        await self._bucket(bucket).set_rate(rate)

    async def drain(self, bucket: str) -> None:
        await self._bucket(bucket).drain()

    async def observe(self, bucket: str, response: httpx.Response) -> None:
        """Learn from a response: the applied rate header, and a 429 that empties the bucket."""
        if self.rate_header:
            raw = response.headers.get(self.rate_header)
            rate = _parse_rate(raw)
            if rate is not None and rate != self.rate(bucket):
                log.info(
                    "%s: %s rate for %s is now %s/s", self.platform, self.rate_header, bucket, rate
                )
                await self.set_rate(bucket, rate)
        if response.status_code == 429:
            log.info("%s: 429 on %s; draining the bucket", self.platform, bucket)
            await self.drain(bucket)


def _parse_rate(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        rate = float(raw.strip())
    except ValueError:
        return None
    return rate if math.isfinite(rate) and rate > 0 else None


class RateBudgetRegistry:
    """Hands out one :class:`RateBudget` per (platform, account) for the whole process.

    The first declaration of an account's limits wins; later callers share that budget.
    """

    def __init__(self) -> None:
        self._budgets: dict[tuple[str, str], RateBudget] = {}

    def budget(self, facts: PlatformFacts, account: str) -> RateBudget:
        key = (facts.name, account)
        budget = self._budgets.get(key)
        if budget is None:
            budget = self._budgets[key] = RateBudget(
                facts.name, account, facts.rate_limits, rate_header=facts.rate_limit_header
            )
        return budget

    def forget(self, platform: str, account: str) -> None:
        """Drop an account's budget (e.g. after a disconnect)."""
        self._budgets.pop((platform, account), None)


BUDGETS = RateBudgetRegistry()
"""The process-wide registry."""


def budget_for(facts: PlatformFacts, account: str) -> RateBudget:
    """The process-wide budget of ``account`` at ``facts.name``."""
    return BUDGETS.budget(facts, account)
