"""TokenManager: proactive refresh, single flight, save before use, invalid_grant."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from connectors.amazon import FACTS as AMAZON
from connectors.errors import ReauthorizationRequired
from connectors.http.auth import MemoryTokenStore, TokenManager
from connectors.stripe import FACTS as STRIPE
from tests.connectors.conftest import Clock, amazon_flow, amazon_token, stripe_flow, stripe_token

TOKEN_URL = AMAZON.oauth.token_url


def refreshed(access: str, **extra: Any) -> httpx.Response:
    return httpx.Response(
        200,
        json={"access_token": access, "token_type": "bearer", "expires_in": 3600, **extra},
    )


async def test_a_fresh_token_is_used_as_is(clock: Clock) -> None:
    manager = TokenManager(amazon_flow(clock), MemoryTokenStore(amazon_token(clock)), clock=clock)
    with respx.mock(assert_all_called=False) as router:
        route = router.post(TOKEN_URL)
        assert await manager.access_token() == "Atza|current-access-0001"
    assert route.call_count == 0


@respx.mock
async def test_refreshes_shortly_before_expiry(clock: Clock) -> None:
    route = respx.post(TOKEN_URL).mock(return_value=refreshed("Atza|next"))
    store = MemoryTokenStore(amazon_token(clock))
    manager = TokenManager(amazon_flow(clock), store, clock=clock)
    assert await manager.access_token() == "Atza|current-access-0001"
    clock.now += 3600 - 120  # two minutes left: still fine
    assert await manager.access_token() == "Atza|current-access-0001"
    clock.now += 70  # 50 s left: inside the 60 s margin
    assert await manager.access_token() == "Atza|next"
    assert route.call_count == 1
    assert store.token is not None and store.token["access_token"] == "Atza|next"
    assert store.token["refresh_token"] == "Atzr|long-lived-refresh-0001"  # not rotated: kept


@respx.mock
async def test_fifty_concurrent_callers_cause_exactly_one_refresh(clock: Clock) -> None:
    async def slow_token_endpoint(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)  # let every caller pile up behind the refresh
        return refreshed("Atza|single")

    route = respx.post(TOKEN_URL).mock(side_effect=slow_token_endpoint)
    expired = amazon_token(clock, expires_at=int(clock.now) - 1)
    store = MemoryTokenStore(expired)
    manager = TokenManager(amazon_flow(clock), store, clock=clock)
    tokens = await asyncio.gather(*(manager.access_token() for _ in range(50)))
    assert set(tokens) == {"Atza|single"}
    assert route.call_count == 1
    assert store.saves == 1


@respx.mock
async def test_rotated_refresh_token_is_saved_before_it_is_used(clock: Clock) -> None:
    events: list[str] = []

    class RecordingStore(MemoryTokenStore):
        async def save(self, token: dict[str, Any]) -> None:
            events.append(f"save {token['refresh_token']}")
            await super().save(token)

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        sent = parse_qs(request.content.decode())["refresh_token"][0]
        events.append(f"refresh with {sent}")
        n = sum(e.startswith("refresh") for e in events)
        return refreshed(f"Atza|gen{n}", refresh_token=f"Atzr|gen{n}")

    respx.post(TOKEN_URL).mock(side_effect=token_endpoint)
    store = RecordingStore(amazon_token(clock, expires_at=int(clock.now) - 1))
    manager = TokenManager(amazon_flow(clock), store, clock=clock)
    assert await manager.access_token() == "Atza|gen1"
    clock.now += 7200
    assert await manager.access_token() == "Atza|gen2"
    assert events == [
        "refresh with Atzr|long-lived-refresh-0001",
        "save Atzr|gen1",
        "refresh with Atzr|gen1",  # the rotated token, read back from the store
        "save Atzr|gen2",
    ]


@respx.mock
async def test_a_second_manager_picks_up_a_refresh_saved_by_the_first(clock: Clock) -> None:
    route = respx.post(TOKEN_URL).mock(return_value=refreshed("Atza|shared"))
    store = MemoryTokenStore(amazon_token(clock, expires_at=int(clock.now) - 1))
    first = TokenManager(amazon_flow(clock), store, clock=clock)
    second = TokenManager(amazon_flow(clock), store, clock=clock)
    assert await first.access_token() == "Atza|shared"
    assert await second.access_token() == "Atza|shared"
    assert route.call_count == 1


@respx.mock
async def test_invalid_grant_means_reauthorization(clock: Clock) -> None:
    respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(
            400, json={"error": "invalid_grant", "error_description": "revoked"}
        )
    )
    store = MemoryTokenStore(amazon_token(clock, expires_at=int(clock.now) - 1))
    manager = TokenManager(amazon_flow(clock), store, clock=clock)
    with pytest.raises(ReauthorizationRequired):
        await manager.access_token()
    assert store.saves == 0


async def test_no_stored_grant_means_reauthorization(clock: Clock) -> None:
    manager = TokenManager(amazon_flow(clock), MemoryTokenStore(None), clock=clock)
    with pytest.raises(ReauthorizationRequired):
        await manager.access_token()


async def test_token_without_expiry_is_never_refreshed_proactively(clock: Clock) -> None:
    manager = TokenManager(stripe_flow(clock), MemoryTokenStore(stripe_token()), clock=clock)
    clock.now += 10 * 365 * 86400
    with respx.mock(assert_all_called=False) as router:
        route = router.post(STRIPE.oauth.token_url)
        assert await manager.access_token() == "sk_test_connectedaccess0001"
    assert route.call_count == 0


@respx.mock
async def test_refresh_after_rejection_refreshes_once(clock: Clock) -> None:
    route = respx.post(STRIPE.oauth.token_url).mock(
        return_value=httpx.Response(200, json={"access_token": "sk_test_after", "token_type": "b"})
    )
    store = MemoryTokenStore(stripe_token())
    manager = TokenManager(stripe_flow(clock), store, clock=clock)
    rejected = await manager.access_token()
    results = await asyncio.gather(*(manager.refresh_after_rejection(rejected) for _ in range(10)))
    assert set(results) == {"sk_test_after"}
    assert route.call_count == 1
    # a later rejection of the old token (a straggler) does not refresh again
    assert await manager.refresh_after_rejection(rejected) == "sk_test_after"
    assert route.call_count == 1
    saved = json.loads(json.dumps(store.token))
    assert saved["refresh_token"] == "rt_connectedrefresh0001"
    assert saved["account_id"] == "acct_1SELLER0001"
