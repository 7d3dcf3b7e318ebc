"""Amazon: Seller Central consent, LWA token endpoint, x-amz-access-token on API calls."""

from __future__ import annotations

import re

import httpx

from sandbox.server import RunningSandbox
from tests.sandbox.conftest import StartSandbox
from tests.sandbox.helpers import (
    REDIRECT,
    accounts,
    amazon_code,
    amazon_connect,
    amazon_consent_url,
    amazon_token,
    decide,
    query_of,
)

PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"


def _client(sandbox: RunningSandbox) -> httpx.Client:
    return httpx.Client(base_url=sandbox.base_url("amazon"), timeout=10)


def test_consent_page_offers_each_seeded_seller_with_stable_ids(amazon: httpx.Client) -> None:
    sellers = [a["id"] for a in accounts(str(amazon.base_url))]
    page = amazon.get(amazon_consent_url(account=sellers[1]))
    assert page.status_code == 200
    assert 'id="approve"' in page.text and 'id="deny"' in page.text
    assert re.search(r'<select id="account" name="account">', page.text)
    assert re.findall(r'<option value="([^"]+)"', page.text) == sellers
    assert f'value="{sellers[1]}" selected' in page.text


def test_approve_then_exchange_code_for_lwa_tokens(amazon: httpx.Client) -> None:
    seller = accounts(str(amazon.base_url))[0]["id"]
    tokens = amazon_connect(amazon, seller)
    assert tokens["access_token"].startswith("Atza|")
    assert tokens["refresh_token"].startswith("Atzr|")
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 3600
    reply = amazon.get(PARTICIPATIONS, headers={"x-amz-access-token": tokens["access_token"]})
    assert reply.status_code == 200
    assert reply.json()["payload"][0]["storeName"] == "Cascade Kitchenworks"


def test_deny_redirects_with_access_denied_and_state(amazon: httpx.Client) -> None:
    seller = accounts(str(amazon.base_url))[0]["id"]
    query = query_of(decide(amazon, amazon_consent_url("st-deny"), seller, "deny"))
    assert query == {"error": "access_denied", "state": "st-deny"}


def test_code_is_single_use(amazon: httpx.Client) -> None:
    code = amazon_code(amazon, accounts(str(amazon.base_url))[0]["id"])
    first = amazon_token(amazon, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert first.status_code == 200
    replay = amazon_token(amazon, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


def test_token_exchange_needs_the_same_redirect_uri(amazon: httpx.Client) -> None:
    code = amazon_code(amazon, accounts(str(amazon.base_url))[0]["id"])
    wrong = amazon_token(
        amazon, grant_type="authorization_code", code=code, redirect_uri="https://evil.example/cb"
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_unknown_client_is_invalid_client(amazon: httpx.Client) -> None:
    reply = amazon.post(
        "/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "x",
            "client_id": "someone-else",
            "client_secret": "s",
        },
    )
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_client"


def test_refresh_gives_a_new_access_token_and_keeps_the_refresh_token(amazon: httpx.Client) -> None:
    tokens = amazon_connect(amazon, accounts(str(amazon.base_url))[2]["id"])
    reply = amazon_token(amazon, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert reply.status_code == 200
    fresh = reply.json()
    assert fresh["access_token"] != tokens["access_token"]
    assert fresh["refresh_token"] == tokens["refresh_token"]
    ok = amazon.get(PARTICIPATIONS, headers={"x-amz-access-token": fresh["access_token"]})
    assert ok.status_code == 200


def test_missing_or_bad_token_is_403_unauthorized(amazon: httpx.Client) -> None:
    for headers in ({}, {"x-amz-access-token": "Atza|not-a-token"}):
        reply = amazon.get(PARTICIPATIONS, headers=headers)
        assert reply.status_code == 403
        error = reply.json()["errors"][0]
        assert error["code"] == "Unauthorized"
        assert error["message"] == "Access to requested resource is denied."
        assert "x-amzn-RateLimit-Limit" in reply.headers


def test_expire_access_tokens_then_refresh_recovers(make_sandbox: StartSandbox) -> None:
    sandbox = make_sandbox(("amazon",))
    with _client(sandbox) as client:
        tokens = amazon_connect(client, accounts(str(client.base_url))[0]["id"])
        assert (
            client.post("/_sandbox/faults", json={"kind": "expire_access_tokens"}).status_code
            == 200
        )
        reply = client.get(PARTICIPATIONS, headers={"x-amz-access-token": tokens["access_token"]})
        assert reply.status_code == 403
        assert reply.json()["errors"][0]["details"] == "The access token you provided has expired."
        fresh = amazon_token(
            client, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        ok = client.get(
            PARTICIPATIONS, headers={"x-amz-access-token": fresh.json()["access_token"]}
        )
        assert ok.status_code == 200


def test_access_token_lifetime_is_enforced(make_sandbox: StartSandbox) -> None:
    sandbox = make_sandbox(("amazon",))
    world = sandbox.world("amazon")
    world.core.settings.access_token_lifetime = 60
    with _client(sandbox) as client:
        tokens = amazon_connect(client, accounts(str(client.base_url))[0]["id"])
        assert tokens["expires_in"] == 60
        headers = {"x-amz-access-token": tokens["access_token"]}
        assert client.get(PARTICIPATIONS, headers=headers).status_code == 200
        world.core.clock.advance(61)
        assert client.get(PARTICIPATIONS, headers=headers).status_code == 403


def test_code_expires_after_five_minutes(make_sandbox: StartSandbox) -> None:
    sandbox = make_sandbox(("amazon",))
    with _client(sandbox) as client:
        code = amazon_code(client, accounts(str(client.base_url))[0]["id"])
        sandbox.world("amazon").core.clock.advance(301)
        reply = amazon_token(
            client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT
        )
        assert reply.status_code == 400 and reply.json()["error"] == "invalid_grant"


def test_revoke_fails_refresh_and_api_calls(make_sandbox: StartSandbox) -> None:
    sandbox = make_sandbox(("amazon",))
    with _client(sandbox) as client:
        sellers = [a["id"] for a in accounts(str(client.base_url))]
        revoked = amazon_connect(client, sellers[0])
        other = amazon_connect(client, sellers[1])
        reply = client.post("/_sandbox/faults", json={"kind": "revoke", "account": sellers[0]})
        assert reply.status_code == 200
        refresh = amazon_token(
            client, grant_type="refresh_token", refresh_token=revoked["refresh_token"]
        )
        assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
        api = client.get(PARTICIPATIONS, headers={"x-amz-access-token": revoked["access_token"]})
        assert api.status_code == 403 and api.json()["errors"][0]["code"] == "Unauthorized"
        still = client.get(PARTICIPATIONS, headers={"x-amz-access-token": other["access_token"]})
        assert still.status_code == 200
        # the seller may consent again: a new grant works
        again = amazon_connect(client, sellers[0])
        assert (
            client.get(
                PARTICIPATIONS, headers={"x-amz-access-token": again["access_token"]}
            ).status_code
            == 200
        )


def test_draft_app_needs_version_beta(make_sandbox: StartSandbox) -> None:
    sandbox = make_sandbox(("amazon",))
    with _client(sandbox) as client:
        assert client.post("/_sandbox/config", json={"draft_app": True}).status_code == 200
        page = client.get(amazon_consent_url())
        assert page.status_code == 400 and "MD1000" in page.text
        assert client.get(amazon_consent_url(version="beta")).status_code == 200
        stats = client.get("/_sandbox/stats").json()
        assert stats["token_requests"] == {"authorization_code": 0, "refresh_token": 0}
