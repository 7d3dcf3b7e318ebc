"""Fixtures for the HTTP side: a fast retry policy, a settable clock, token stores, clients."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.amazon import FACTS as AMAZON
from connectors.http.auth import MemoryTokenStore, OAuthFlow, PlatformAuth, TokenManager
from connectors.http.client import PlatformClient
from connectors.http.ratelimit import RateBudget
from connectors.http.retry import RetryPolicy
from connectors.model import PlatformFacts, RateLimit
from connectors.stripe import FACTS as STRIPE

REFERENCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference"

AMAZON_API = AMAZON.base_url()
STRIPE_API = STRIPE.base_url()
REDIRECT = "https://hub.example.test/connect/callback"

AMAZON_CLIENT_ID = "amzn1.application-oa2-client.test0001"
AMAZON_SECRET = "amzn1.oa2-cs.v1.s3cr3t-client-value"
STRIPE_CLIENT_ID = "ca_TestPlatform0001"
STRIPE_SECRET = "sk_test_platformsecretkey0001"


def reference_file(*parts: str) -> Path:
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference material absent: {path}")
    return path


def reference_json(*parts: str) -> Any:
    return json.loads(reference_file(*parts).read_text())


class Clock:
    """A settable time source (epoch seconds)."""

    def __init__(self, now: float = 1_900_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class SleepRecorder:
    """Stands in for asyncio.sleep: records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def retry(sleeps: SleepRecorder) -> RetryPolicy:
    return RetryPolicy(sleep=sleeps, rand=lambda: 0.0)


def roomy(facts: PlatformFacts) -> RateBudget:
    """A budget large enough that no test waits for it."""
    limits = {bucket: RateLimit(rate=1000, burst=1000) for bucket in facts.rate_limits}
    return RateBudget(facts.name, "acct-test", limits, rate_header=facts.rate_limit_header)


def amazon_token(clock: Clock, **extra: Any) -> dict[str, Any]:
    return {
        "access_token": "Atza|current-access-0001",
        "refresh_token": "Atzr|long-lived-refresh-0001",
        "token_type": "bearer",
        "expires_in": 3600,
        "expires_at": int(clock.now + 3600),
        "account_id": "A3SELLER0001",
        **extra,
    }


def stripe_token(**extra: Any) -> dict[str, Any]:
    return {
        "access_token": "sk_test_connectedaccess0001",
        "refresh_token": "rt_connectedrefresh0001",
        "token_type": "bearer",
        "stripe_user_id": "acct_1SELLER0001",
        "account_id": "acct_1SELLER0001",
        "scope": "read_only",
        **extra,
    }


def amazon_flow(clock: Clock | None = None, **kwargs: Any) -> OAuthFlow:
    return OAuthFlow(
        AMAZON, AMAZON_CLIENT_ID, AMAZON_SECRET, REDIRECT, clock=clock or Clock(), **kwargs
    )


def stripe_flow(clock: Clock | None = None, **kwargs: Any) -> OAuthFlow:
    return OAuthFlow(
        STRIPE, STRIPE_CLIENT_ID, STRIPE_SECRET, REDIRECT, clock=clock or Clock(), **kwargs
    )


ClientFactory = Callable[..., PlatformClient]


@pytest.fixture
async def make_client(retry: RetryPolicy) -> AsyncIterator[ClientFactory]:
    """Builds clients (closed at teardown); ``tokens=`` adds PlatformAuth."""
    made: list[PlatformClient] = []

    def build(
        facts: PlatformFacts,
        *,
        tokens: TokenManager | None = None,
        budget: RateBudget | None = None,
        policy: RetryPolicy | None = None,
    ) -> PlatformClient:
        client = PlatformClient(
            facts,
            base_url=facts.base_url(),
            auth=PlatformAuth(facts, tokens) if tokens else None,
            budget=budget or roomy(facts),
            retry=policy or retry,
        )
        made.append(client)
        return client

    yield build
    for client in made:
        await client.aclose()


__all__ = [
    "AMAZON_API",
    "AMAZON_CLIENT_ID",
    "AMAZON_SECRET",
    "REDIRECT",
    "STRIPE_API",
    "STRIPE_CLIENT_ID",
    "STRIPE_SECRET",
    "Clock",
    "MemoryTokenStore",
    "SleepRecorder",
]
