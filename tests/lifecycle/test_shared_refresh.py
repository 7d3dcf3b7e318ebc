"""TokenManager with a shared RefreshLock: many managers (as separate workers would have), one
refresh of a rotating refresh token, and the new token saved before anyone uses it.

The token endpoint here rotates like Square's PKCE grants: each refresh token works once.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from connectors.amazon import FACTS as AMAZON
from connectors.errors import ReauthorizationRequired
from connectors.http.auth import LocalRefreshLock, MemoryTokenStore, TokenManager
from connectors.stripe import FACTS as STRIPE
from sellerhub.locks import process_local_locks
from tests.connectors.conftest import Clock, amazon_flow, amazon_token, stripe_flow, stripe_token


class RotatingTokenEndpoint:
    """Each refresh token is accepted once; answers are slow enough for callers to pile up."""

    def __init__(self, first_refresh: str, prefix: str) -> None:
        self.valid = {first_refresh}
        self.prefix = prefix
        self.refreshes = 0
        self.invalid_grants = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        sent = parse_qs(request.content.decode())["refresh_token"][0]
        await asyncio.sleep(0.02)
        if sent not in self.valid:
            self.invalid_grants += 1
            return httpx.Response(400, json={"error": "invalid_grant"})
        self.valid.discard(sent)
        self.refreshes += 1
        n = self.refreshes
        self.valid.add(f"{self.prefix}r{n}")
        return httpx.Response(
            200,
            json={
                "access_token": f"{self.prefix}a{n}",
                "refresh_token": f"{self.prefix}r{n}",
                "token_type": "bearer",
                "expires_in": 3600,
            },
        )


class SlowSaveStore(MemoryTokenStore):
    """A store whose save takes a while: a refresh must not be visible before it lands."""

    async def save(self, token: dict[str, Any]) -> None:
        await asyncio.sleep(0.01)
        await super().save(token)


@respx.mock
async def test_fifty_managers_sharing_a_lock_refresh_an_expired_token_once(clock: Clock) -> None:
    endpoint = RotatingTokenEndpoint("Atzr|long-lived-refresh-0001", "Atz")
    respx.post(AMAZON.oauth.token_url).mock(side_effect=endpoint)
    store = SlowSaveStore(amazon_token(clock, expires_at=int(clock.now) - 1))
    locks = process_local_locks()
    managers = [
        TokenManager(
            amazon_flow(clock), store, clock=clock, refresh_lock=locks.for_connection("con_1")
        )
        for _ in range(50)
    ]
    tokens = await asyncio.gather(*(m.access_token() for m in managers))
    assert set(tokens) == {"Atza1"}
    assert endpoint.refreshes == 1 and endpoint.invalid_grants == 0
    assert store.saves == 1
    assert store.token is not None and store.token["refresh_token"] == "Atzr1"
    assert sum(m.refreshes for m in managers) == 1


@respx.mock
async def test_without_a_shared_lock_a_rotating_token_is_spent_twice(clock: Clock) -> None:
    """The control: separate workers each with only their own lock race, and lose the grant."""
    endpoint = RotatingTokenEndpoint("Atzr|long-lived-refresh-0001", "Atz")
    respx.post(AMAZON.oauth.token_url).mock(side_effect=endpoint)
    store = MemoryTokenStore(amazon_token(clock, expires_at=int(clock.now) - 1))
    managers = [
        TokenManager(amazon_flow(clock), store, clock=clock, refresh_lock=LocalRefreshLock())
        for _ in range(5)
    ]
    outcomes = await asyncio.gather(*(m.access_token() for m in managers), return_exceptions=True)
    assert endpoint.refreshes == 1
    assert endpoint.invalid_grants == 4
    assert sum(isinstance(o, ReauthorizationRequired) for o in outcomes) == 4


@respx.mock
async def test_fifty_managers_rejected_at_once_refresh_once(clock: Clock) -> None:
    """The platform expired the token early (our clock still thinks it is fresh): every worker
    is refused, and exactly one of them refreshes."""
    endpoint = RotatingTokenEndpoint("rt_connectedrefresh0001", "sk_test_")
    respx.post(STRIPE.oauth.token_url).mock(side_effect=endpoint)
    store = SlowSaveStore(stripe_token())
    locks = process_local_locks()
    managers = [
        TokenManager(
            stripe_flow(clock), store, clock=clock, refresh_lock=locks.for_connection("con_2")
        )
        for _ in range(50)
    ]
    rejected = await managers[0].access_token()
    results = await asyncio.gather(*(m.refresh_after_rejection(rejected) for m in managers))
    assert set(results) == {"sk_test_a1"}
    assert endpoint.refreshes == 1 and endpoint.invalid_grants == 0
    assert store.token is not None and store.token["refresh_token"] == "sk_test_r1"


@respx.mock
async def test_a_token_refreshed_elsewhere_while_waiting_for_the_lock_is_used(
    clock: Clock,
) -> None:
    """Inside the lock the store is read again: a worker that waited gets the other's token."""
    endpoint = RotatingTokenEndpoint("Atzr|long-lived-refresh-0001", "Atz")
    route = respx.post(AMAZON.oauth.token_url).mock(side_effect=endpoint)
    store = MemoryTokenStore(amazon_token(clock, expires_at=int(clock.now) - 1))
    locks = process_local_locks()
    lock = locks.for_connection("con_3")
    waiting = TokenManager(amazon_flow(clock), store, clock=clock, refresh_lock=lock)
    async with lock.hold():
        task = asyncio.create_task(waiting.access_token())
        await asyncio.sleep(0.05)
        assert not task.done()  # it read the expired token and now waits for the lock
        # meanwhile "another process" refreshed and saved a new token
        store.token = amazon_token(clock, access_token="Atza|from-elsewhere")
    assert await task == "Atza|from-elsewhere"
    assert route.call_count == 0


@respx.mock
async def test_a_failed_refresh_releases_the_lock(clock: Clock) -> None:
    respx.post(AMAZON.oauth.token_url).mock(
        return_value=httpx.Response(400, json={"error": "invalid_grant"})
    )
    store = MemoryTokenStore(amazon_token(clock, expires_at=int(clock.now) - 1))
    lock = process_local_locks().for_connection("con_4")
    manager = TokenManager(amazon_flow(clock), store, clock=clock, refresh_lock=lock)
    with pytest.raises(ReauthorizationRequired):
        await manager.access_token()
    async with asyncio.timeout(2):
        async with lock.hold():
            pass
