"""Token buckets per (account, operation), refilled from the sandbox clock."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sandbox.common.clock import Clock


@dataclass(frozen=True)
class Limit:
    """``rate`` requests per second refill a bucket holding at most ``burst`` requests."""

    rate: float
    burst: int

    @property
    def header_value(self) -> str:
        return format(self.rate, "g")


class _Bucket:
    def __init__(self, limit: Limit, now: datetime) -> None:
        self.limit = limit
        self.tokens = float(limit.burst)
        self.at = now

    def take(self, now: datetime) -> bool:
        elapsed = max(0.0, (now - self.at).total_seconds())
        self.tokens = min(float(self.limit.burst), self.tokens + elapsed * self.limit.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class RateLimiter:
    def __init__(self, clock: Clock, limits: Mapping[str, Limit], default: Limit) -> None:
        self._clock = clock
        self._limits = dict(limits)
        self._default = default
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def limit_for(self, operation: str) -> Limit:
        return self._limits.get(operation, self._default)

    def acquire(self, account: str, operation: str) -> bool:
        """Take one request from the bucket; False means answer 429."""
        now = self._clock.now()
        with self._lock:
            bucket = self._buckets.get((account, operation))
            if bucket is None:
                bucket = _Bucket(self.limit_for(operation), now)
                self._buckets[(account, operation)] = bucket
            return bucket.take(now)

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
