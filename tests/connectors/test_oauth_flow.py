"""OAuthFlow: consent URLs, code exchange for both platforms, refusals, revocation."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from connectors.amazon import FACTS as AMAZON
from connectors.errors import (
    Action,
    AuthorizationFailed,
    ConnectorError,
    Fault,
    ReauthorizationRequired,
    RetryableError,
)
from connectors.http.auth import OAuthFlow
from connectors.stripe import FACTS as STRIPE
from tests.connectors.conftest import (
    AMAZON_CLIENT_ID,
    AMAZON_SECRET,
    REDIRECT,
    STRIPE_CLIENT_ID,
    STRIPE_SECRET,
    Clock,
    amazon_flow,
    stripe_flow,
    stripe_token,
)

AMAZON_TOKEN_URL = AMAZON.oauth.token_url
STRIPE_TOKEN_URL = STRIPE.oauth.token_url


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def form(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode())


def test_amazon_consent_url_uses_application_id() -> None:
    url = amazon_flow().authorization_url(state="st-123")
    assert url.startswith("https://sellercentral.amazon.com/apps/authorize/consent?")
    q = query(url)
    assert q["application_id"] == [AMAZON_CLIENT_ID]
    assert "client_id" not in q
    assert q["state"] == ["st-123"]
    assert q["redirect_uri"] == [REDIRECT]
    assert "version" not in q


@pytest.mark.parametrize(
    ("site", "host"),
    [("us", "sellercentral.amazon.com"), ("europe", "sellercentral-europe.amazon.com"),
     ("nl", "sellercentral.amazon.nl"), ("in", "sellercentral.amazon.in"),
     ("jp", "sellercentral.amazon.co.jp"), ("au", "sellercentral.amazon.com.au")],
)  # fmt: skip
def test_amazon_consent_happens_on_the_sellers_own_seller_central(site: str, host: str) -> None:
    url = amazon_flow().authorization_url(state="s", site=site)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", host, "/apps/authorize/consent")
    assert query(url)["application_id"] == [AMAZON_CLIENT_ID]


def test_every_amazon_consent_site_reads_from_a_known_region() -> None:
    sites = AMAZON.oauth.consent_sites
    assert {site.region for site in sites.values()} == set(AMAZON.regions)
    assert {site for site, where in sites.items() if where.region == "fe"} == {"jp", "au", "sg"}


def test_an_unknown_consent_site_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown consent site 'xx'"):
        amazon_flow().authorization_url(state="s", site="xx")
    with pytest.raises(ValueError, match="known: none"):  # Stripe has one consent page
        stripe_flow().authorization_url(state="s", site="us")


def test_amazon_consent_takes_the_app_id_when_it_differs_from_the_lwa_client_id() -> None:
    flow = amazon_flow(app_id="amzn1.sp.solution.app0001")
    assert query(flow.authorization_url(state="s"))["application_id"] == [
        "amzn1.sp.solution.app0001"
    ]


def test_amazon_draft_app_adds_version_beta() -> None:
    q = query(amazon_flow(draft_app=True).authorization_url(state="s"))
    assert q["version"] == ["beta"]


def test_stripe_consent_url() -> None:
    url = stripe_flow().authorization_url(state="st-9")
    assert url.startswith("https://connect.stripe.com/oauth/authorize?")
    q = query(url)
    assert q["client_id"] == [STRIPE_CLIENT_ID]
    assert q["response_type"] == ["code"]
    assert q["scope"] == ["read_only"]
    assert q["state"] == ["st-9"]


def test_pkce_sends_an_s256_challenge() -> None:
    facts = dataclasses.replace(STRIPE, oauth=dataclasses.replace(STRIPE.oauth, pkce=True))
    flow = OAuthFlow(facts, STRIPE_CLIENT_ID, STRIPE_SECRET, REDIRECT)
    verifier = "v" * 64
    q = query(flow.authorization_url(state="s", code_verifier=verifier))
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert q["code_challenge"] == [expected]
    assert q["code_challenge_method"] == ["S256"]
    with pytest.raises(ValueError, match="code_verifier"):
        flow.authorization_url(state="s")


def test_empty_state_is_refused() -> None:
    with pytest.raises(ValueError, match="state"):
        amazon_flow().authorization_url(state="")


@respx.mock
async def test_amazon_exchange_reads_spapi_oauth_code_and_selling_partner_id() -> None:
    clock = Clock()
    route = respx.post(AMAZON_TOKEN_URL).mock(
        return_value=httpx.Response(
            200,
            json={
                "access_token": "Atza|fresh-access",
                "refresh_token": "Atzr|fresh-refresh",
                "token_type": "bearer",
                "expires_in": 3600,
            },
        )
    )
    callback = {"spapi_oauth_code": "ANcode123", "selling_partner_id": "A3SP01", "state": "st-1"}
    token = await amazon_flow(clock).exchange_code(callback, expected_state="st-1")
    assert token["access_token"] == "Atza|fresh-access"
    assert token["refresh_token"] == "Atzr|fresh-refresh"
    assert token["account_id"] == "A3SP01"
    assert token["expires_at"] == int(clock.now) + 3600
    sent = form(route.calls.last.request)
    assert sent["grant_type"] == ["authorization_code"]
    assert sent["code"] == ["ANcode123"]
    assert sent["redirect_uri"] == [REDIRECT]
    assert sent["client_id"] == [AMAZON_CLIENT_ID]
    assert sent["client_secret"] == [AMAZON_SECRET]


@respx.mock
async def test_stripe_exchange_takes_the_account_from_the_token_response() -> None:
    body = {k: v for k, v in stripe_token().items() if k != "account_id"}
    body |= {"livemode": False, "stripe_publishable_key": "pk_test_x"}
    route = respx.post(STRIPE_TOKEN_URL).mock(return_value=httpx.Response(200, json=body))
    callback = {"code": "ac_123", "scope": "read_only", "state": "st-2"}
    token = await stripe_flow().exchange_code(callback, expected_state="st-2")
    assert token["account_id"] == "acct_1SELLER0001"
    assert token["access_token"] == body["access_token"]
    assert "expires_at" not in token  # Stripe gives no expires_in: never refreshed proactively
    sent = form(route.calls.last.request)
    assert sent["code"] == ["ac_123"]
    assert sent["client_secret"] == [STRIPE_SECRET]


@respx.mock
@pytest.mark.parametrize("state", ["st-other", "", None])
async def test_state_mismatch_is_refused_before_any_exchange(state: str | None) -> None:
    route = respx.post(AMAZON_TOKEN_URL).mock(return_value=httpx.Response(200, json={}))
    callback = {"spapi_oauth_code": "ANcode", "selling_partner_id": "A3SP01"}
    if state is not None:
        callback["state"] = state
    with pytest.raises(AuthorizationFailed) as caught:
        await amazon_flow().exchange_code(callback, expected_state="st-1")
    assert caught.value.reason == "state_mismatch"
    assert route.call_count == 0


@respx.mock
async def test_access_denied_is_the_sellers_refusal() -> None:
    route = respx.post(STRIPE_TOKEN_URL)
    callback = {
        "error": "access_denied",
        "error_description": "The user denied your request",
        "state": "st-3",
    }
    with pytest.raises(AuthorizationFailed) as caught:
        await stripe_flow().exchange_code(callback, expected_state="st-3")
    assert caught.value.reason == "access_denied"
    assert caught.value.fault is Fault.SELLER
    assert caught.value.action is Action.REAUTHORIZE
    assert "access_denied" in str(caught.value)
    assert route.call_count == 0


async def test_a_forged_denial_is_refused_as_a_state_mismatch() -> None:
    callback = {"error": "access_denied", "state": "not-ours"}
    with pytest.raises(AuthorizationFailed) as caught:
        await stripe_flow().exchange_code(callback, expected_state="st-3")
    assert caught.value.reason == "state_mismatch"


async def test_missing_code_or_account_is_refused() -> None:
    flow = amazon_flow()
    with pytest.raises(AuthorizationFailed) as no_code:
        await flow.exchange_code({"code": "x", "selling_partner_id": "A", "state": "s"}, "s")
    assert no_code.value.reason == "missing_code"  # Amazon's code is spapi_oauth_code
    with pytest.raises(AuthorizationFailed) as no_account:
        await flow.exchange_code({"spapi_oauth_code": "x", "state": "s"}, "s")
    assert no_account.value.reason == "missing_account_id"


@respx.mock
async def test_stripe_token_response_without_account_is_refused() -> None:
    respx.post(STRIPE_TOKEN_URL).mock(
        return_value=httpx.Response(200, json={"access_token": "sk_test_a", "token_type": "bearer"})
    )
    with pytest.raises(AuthorizationFailed) as caught:
        await stripe_flow().exchange_code({"code": "ac_1", "state": "s"}, "s")
    assert caught.value.reason == "missing_account_id"


@respx.mock
async def test_failed_exchange_says_why() -> None:
    respx.post(AMAZON_TOKEN_URL).mock(
        return_value=httpx.Response(
            400, json={"error": "invalid_grant", "error_description": "The code has expired"}
        )
    )
    callback = {"spapi_oauth_code": "ANold", "selling_partner_id": "A3SP01", "state": "s"}
    with pytest.raises(AuthorizationFailed) as caught:
        await amazon_flow().exchange_code(callback, "s")
    assert caught.value.reason == "invalid_grant"
    assert "expired" in str(caught.value)


@respx.mock
async def test_wrong_app_credentials_are_our_fault() -> None:
    respx.post(AMAZON_TOKEN_URL).mock(
        return_value=httpx.Response(401, json={"error": "invalid_client"})
    )
    callback = {"spapi_oauth_code": "AN", "selling_partner_id": "A3SP01", "state": "s"}
    with pytest.raises(AuthorizationFailed) as caught:
        await amazon_flow().exchange_code(callback, "s")
    assert caught.value.fault is Fault.OURS


@respx.mock
@pytest.mark.parametrize("status", [429, 500, 503])
async def test_token_endpoint_trouble_is_retryable(status: int) -> None:
    respx.post(AMAZON_TOKEN_URL).mock(
        return_value=httpx.Response(status, headers={"Retry-After": "4"}, text="busy")
    )
    callback = {"spapi_oauth_code": "AN", "selling_partner_id": "A3SP01", "state": "s"}
    with pytest.raises(RetryableError) as caught:
        await amazon_flow().exchange_code(callback, "s")
    assert caught.value.status_code == status
    assert caught.value.retry_after == 4.0


@respx.mock
async def test_refresh_keeps_the_refresh_token_when_none_is_returned() -> None:
    clock = Clock()
    route = respx.post(AMAZON_TOKEN_URL).mock(
        return_value=httpx.Response(
            200, json={"access_token": "Atza|new", "token_type": "bearer", "expires_in": 3600}
        )
    )
    old = {
        "access_token": "Atza|old",
        "refresh_token": "Atzr|keep",
        "expires_at": int(clock.now) - 5,
        "account_id": "A3SP01",
    }
    new = await amazon_flow(clock).refresh(old)
    assert new["access_token"] == "Atza|new"
    assert new["refresh_token"] == "Atzr|keep"
    assert new["account_id"] == "A3SP01"
    assert new["expires_at"] == int(clock.now) + 3600
    sent = form(route.calls.last.request)
    assert sent["grant_type"] == ["refresh_token"]
    assert sent["refresh_token"] == ["Atzr|keep"]


@respx.mock
async def test_refresh_without_expiry_drops_the_old_expiry() -> None:
    respx.post(STRIPE_TOKEN_URL).mock(
        return_value=httpx.Response(200, json={"access_token": "sk_test_new", "token_type": "x"})
    )
    new = await stripe_flow().refresh(stripe_token(expires_at=5))
    assert "expires_at" not in new


@respx.mock
async def test_refresh_invalid_grant_means_reauthorize() -> None:
    respx.post(STRIPE_TOKEN_URL).mock(
        return_value=httpx.Response(400, json={"error": "invalid_grant"})
    )
    with pytest.raises(ReauthorizationRequired):
        await stripe_flow().refresh(stripe_token())


@respx.mock
async def test_stripe_revoke_deauthorizes_the_account() -> None:
    route = respx.post(STRIPE.oauth.revoke_url).mock(
        return_value=httpx.Response(200, json={"stripe_user_id": "acct_1SELLER0001"})
    )
    await stripe_flow().revoke(stripe_token())
    request = route.calls.last.request
    assert form(request) == {
        "client_id": [STRIPE_CLIENT_ID],
        "stripe_user_id": ["acct_1SELLER0001"],
    }
    expected = base64.b64encode(f"{STRIPE_SECRET}:".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


@respx.mock
async def test_stripe_revoke_refusal_is_an_error() -> None:
    respx.post(STRIPE.oauth.revoke_url).mock(
        return_value=httpx.Response(
            400, json={"error": "invalid_client", "error_description": "No such account"}
        )
    )
    with pytest.raises(ConnectorError, match="invalid_client"):
        await stripe_flow().revoke(stripe_token())


async def test_amazon_has_no_revocation_endpoint() -> None:
    with respx.mock(assert_all_called=False) as router:
        await amazon_flow().revoke({"access_token": "Atza|x", "refresh_token": "Atzr|y"})
    assert router.calls.call_count == 0
