"""PlatformAuth: token placement per platform; one refresh and one retry after a rejection."""

from __future__ import annotations

import httpx
import pytest
import respx

from connectors.amazon import FACTS as AMAZON
from connectors.amazon.streams import ACCOUNT as AMAZON_ACCOUNT
from connectors.errors import ReauthorizationRequired, RequestRejected
from connectors.http.auth import MemoryTokenStore, TokenManager
from connectors.stripe import FACTS as STRIPE
from connectors.stripe.streams import ACCOUNT as STRIPE_ACCOUNT
from tests.connectors.conftest import (
    AMAZON_API,
    STRIPE_API,
    ClientFactory,
    Clock,
    amazon_flow,
    amazon_token,
    stripe_flow,
    stripe_token,
)

PARTICIPATIONS = f"{AMAZON_API}/sellers/v1/marketplaceParticipations"
UNAUTHORIZED = {
    "errors": [
        {
            "code": "Unauthorized",
            "message": "Access to requested resource is denied.",
            "details": "The access token you provided has expired.",
        }
    ]
}
STRIPE_401 = {"error": {"type": "invalid_request_error", "message": "Expired API Key provided"}}


def amazon_manager(clock: Clock) -> TokenManager:
    return TokenManager(amazon_flow(clock), MemoryTokenStore(amazon_token(clock)), clock=clock)


def amazon_refresh(access: str) -> respx.Route:
    return respx.post(AMAZON.oauth.token_url).mock(
        return_value=httpx.Response(
            200, json={"access_token": access, "token_type": "bearer", "expires_in": 3600}
        )
    )


@respx.mock
async def test_amazon_token_goes_in_x_amz_access_token(
    make_client: ClientFactory, clock: Clock
) -> None:
    route = respx.get(PARTICIPATIONS).mock(return_value=httpx.Response(200, json={"payload": []}))
    await make_client(AMAZON, tokens=amazon_manager(clock)).fetch_page(AMAZON_ACCOUNT, {})
    headers = route.calls.last.request.headers
    assert headers["x-amz-access-token"] == "Atza|current-access-0001"
    assert "Authorization" not in headers


@respx.mock
async def test_stripe_token_is_a_bearer_with_the_pinned_version(
    make_client: ClientFactory, clock: Clock
) -> None:
    route = respx.get(f"{STRIPE_API}/v1/account").mock(
        return_value=httpx.Response(200, json={"id": "acct_1SELLER0001", "object": "account"})
    )
    tokens = TokenManager(stripe_flow(clock), MemoryTokenStore(stripe_token()), clock=clock)
    page = await make_client(STRIPE, tokens=tokens).fetch_page(STRIPE_ACCOUNT, {})
    assert page.records == [{"id": "acct_1SELLER0001", "object": "account"}]
    headers = route.calls.last.request.headers
    assert headers["Authorization"] == "Bearer sk_test_connectedaccess0001"
    assert headers["Stripe-Version"] == STRIPE.default_headers["Stripe-Version"]


@respx.mock
async def test_amazon_403_unauthorized_refreshes_once_and_retries_once(
    make_client: ClientFactory, clock: Clock
) -> None:
    refresh = amazon_refresh("Atza|renewed")
    api = respx.get(PARTICIPATIONS)
    api.side_effect = [
        httpx.Response(403, json=UNAUTHORIZED),
        httpx.Response(200, json={"payload": [{"marketplace": {"id": "ATVPDKIKX0DER"}}]}),
    ]
    page = await make_client(AMAZON, tokens=amazon_manager(clock)).fetch_page(AMAZON_ACCOUNT, {})
    assert len(page.records) == 1
    assert refresh.call_count == 1
    sent = [c.request.headers["x-amz-access-token"] for c in api.calls]
    assert sent == ["Atza|current-access-0001", "Atza|renewed"]


@respx.mock
async def test_stripe_401_refreshes_once_and_retries_once(
    make_client: ClientFactory, clock: Clock
) -> None:
    refresh = respx.post(STRIPE.oauth.token_url).mock(
        return_value=httpx.Response(200, json={"access_token": "sk_test_renewed", "scope": "r"})
    )
    api = respx.get(f"{STRIPE_API}/v1/account")
    api.side_effect = [httpx.Response(401, json=STRIPE_401), httpx.Response(200, json={"id": "a"})]
    tokens = TokenManager(stripe_flow(clock), MemoryTokenStore(stripe_token()), clock=clock)
    await make_client(STRIPE, tokens=tokens).fetch_page(STRIPE_ACCOUNT, {})
    assert refresh.call_count == 1
    assert api.calls.last.request.headers["Authorization"] == "Bearer sk_test_renewed"


@respx.mock
async def test_a_second_rejection_needs_the_seller(
    make_client: ClientFactory, clock: Clock
) -> None:
    refresh = amazon_refresh("Atza|renewed-but-useless")
    api = respx.get(PARTICIPATIONS).mock(return_value=httpx.Response(403, json=UNAUTHORIZED))
    client = make_client(AMAZON, tokens=amazon_manager(clock))
    with pytest.raises(ReauthorizationRequired) as caught:
        await client.fetch_page(AMAZON_ACCOUNT, {})
    assert refresh.call_count == 1
    assert api.call_count == 2
    assert caught.value.status_code == 403


async def test_other_403s_are_not_auth_failures(make_client: ClientFactory, clock: Clock) -> None:
    body = {"errors": [{"code": "InvalidInput", "message": "Marketplace not allowed"}]}
    with respx.mock(assert_all_called=False) as router:
        refresh = router.post(AMAZON.oauth.token_url).mock(return_value=httpx.Response(200))
        api = router.get(PARTICIPATIONS).mock(return_value=httpx.Response(403, json=body))
        client = make_client(AMAZON, tokens=amazon_manager(clock))
        with pytest.raises(RequestRejected, match="Marketplace not allowed"):
            await client.fetch_page(AMAZON_ACCOUNT, {})
    assert refresh.call_count == 0
    assert api.call_count == 1


@respx.mock
async def test_revoked_grant_during_refresh_needs_the_seller(
    make_client: ClientFactory, clock: Clock
) -> None:
    respx.post(AMAZON.oauth.token_url).mock(
        return_value=httpx.Response(400, json={"error": "invalid_grant"})
    )
    respx.get(PARTICIPATIONS).mock(return_value=httpx.Response(403, json=UNAUTHORIZED))
    with pytest.raises(ReauthorizationRequired):
        await make_client(AMAZON, tokens=amazon_manager(clock)).fetch_page(AMAZON_ACCOUNT, {})


@respx.mock
async def test_token_endpoint_outage_is_retried_by_the_client(
    make_client: ClientFactory, clock: Clock
) -> None:
    refresh = respx.post(AMAZON.oauth.token_url)
    refresh.side_effect = [
        httpx.Response(503),
        httpx.Response(200, json={"access_token": "Atza|late", "expires_in": 3600}),
    ]
    api = respx.get(PARTICIPATIONS).mock(return_value=httpx.Response(200, json={"payload": []}))
    store = MemoryTokenStore(amazon_token(clock, expires_at=int(clock.now) - 1))
    tokens = TokenManager(amazon_flow(clock), store, clock=clock)
    await make_client(AMAZON, tokens=tokens).fetch_page(AMAZON_ACCOUNT, {})
    assert refresh.call_count == 2
    assert api.calls.last.request.headers["x-amz-access-token"] == "Atza|late"
