"""Stripe: Connect OAuth (Standard accounts) and Bearer access tokens on API calls."""

from __future__ import annotations

import httpx

from sandbox.server import RunningSandbox
from tests.sandbox.conftest import StartSandbox
from tests.sandbox.helpers import (
    REDIRECT,
    STRIPE_CLIENT,
    accounts,
    decide,
    query_of,
    stripe_code,
    stripe_connect,
    stripe_consent_url,
    stripe_token,
)


def _client(sandbox: RunningSandbox) -> httpx.Client:
    return httpx.Client(base_url=sandbox.base_url("stripe"), timeout=10)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_consent_page_lists_connected_accounts(stripe: httpx.Client) -> None:
    page = stripe.get(stripe_consent_url())
    assert page.status_code == 200
    assert 'id="approve"' in page.text and 'id="deny"' in page.text and 'id="account"' in page.text
    for account in accounts(str(stripe.base_url)):
        assert f'<option value="{account["id"]}"' in page.text


def test_code_exchange_returns_the_connect_token_response(stripe: httpx.Client) -> None:
    account = accounts(str(stripe.base_url))[1]["id"]
    tokens = stripe_connect(stripe, account)
    assert tokens["access_token"].startswith("sk_test_")
    assert tokens["refresh_token"].startswith("rt_")
    assert tokens["stripe_user_id"] == account
    assert tokens["livemode"] is False and tokens["token_type"] == "bearer"
    assert tokens["scope"] == "read_only"
    assert tokens["stripe_publishable_key"].startswith("pk_test_")
    assert "expires_in" not in tokens
    me = stripe.get("/v1/account", headers=_bearer(tokens["access_token"]))
    assert me.status_code == 200 and me.json()["id"] == account
    assert me.json()["default_currency"] == "jpy"


def test_deny_redirects_with_error_description_and_state(stripe: httpx.Client) -> None:
    account = accounts(str(stripe.base_url))[0]["id"]
    query = query_of(decide(stripe, stripe_consent_url("st-x"), account, "deny"))
    assert query["error"] == "access_denied" and query["state"] == "st-x"
    assert query["error_description"]


def test_replayed_code_and_wrong_redirect_are_invalid_grant(stripe: httpx.Client) -> None:
    account = accounts(str(stripe.base_url))[0]["id"]
    code = stripe_code(stripe, account)
    assert stripe_token(stripe, grant_type="authorization_code", code=code).status_code == 200
    replay = stripe_token(stripe, grant_type="authorization_code", code=code)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    other = stripe_code(stripe, account)
    wrong = stripe_token(
        stripe, grant_type="authorization_code", code=other, redirect_uri="https://evil.example/cb"
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    right = stripe_token(stripe, grant_type="authorization_code", code=other, redirect_uri=REDIRECT)
    assert right.status_code == 200


def test_token_endpoint_needs_the_platform_secret_key(stripe: httpx.Client) -> None:
    code = stripe_code(stripe, accounts(str(stripe.base_url))[0]["id"])
    reply = stripe.post("/oauth/token", data={"grant_type": "authorization_code", "code": code})
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_client"
    basic = stripe.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": code},
        auth=("sk_test_platform_basic", ""),
    )
    assert basic.status_code == 200


def test_refresh_keeps_the_refresh_token(stripe: httpx.Client) -> None:
    tokens = stripe_connect(stripe, accounts(str(stripe.base_url))[2]["id"])
    reply = stripe_token(stripe, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert reply.status_code == 200
    fresh = reply.json()
    assert fresh["access_token"] != tokens["access_token"]
    assert fresh["refresh_token"] == tokens["refresh_token"]
    assert stripe.get("/v1/account", headers=_bearer(fresh["access_token"])).status_code == 200


def test_bad_token_is_401_and_never_echoed(stripe: httpx.Client) -> None:
    secret = "sk_test_this_is_not_issued_ABCD"
    reply = stripe.get("/v1/charges", headers=_bearer(secret))
    assert reply.status_code == 401
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert secret not in reply.text and error["message"].endswith("ABCD")
    missing = stripe.get("/v1/charges")
    assert missing.status_code == 401


def test_expire_access_tokens_gives_api_key_expired(make_sandbox: StartSandbox) -> None:
    sandbox = make_sandbox(("stripe",))
    with _client(sandbox) as client:
        tokens = stripe_connect(client, accounts(str(client.base_url))[0]["id"])
        client.post("/_sandbox/faults", json={"kind": "expire_access_tokens"}).raise_for_status()
        reply = client.get("/v1/charges", headers=_bearer(tokens["access_token"]))
        assert reply.status_code == 401 and reply.json()["error"]["code"] == "api_key_expired"
        fresh = stripe_token(
            client, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        ok = client.get("/v1/charges", headers=_bearer(fresh.json()["access_token"]))
        assert ok.status_code == 200


def test_deauthorize_and_revoke_end_the_grant(make_sandbox: StartSandbox) -> None:
    sandbox = make_sandbox(("stripe",))
    with _client(sandbox) as client:
        first, second = (a["id"] for a in accounts(str(client.base_url))[:2])
        tokens = stripe_connect(client, first)
        reply = client.post(
            "/oauth/deauthorize",
            data={"client_id": STRIPE_CLIENT, "stripe_user_id": first},
            auth=("sk_test_platform", ""),
        )
        assert reply.status_code == 200 and reply.json() == {"stripe_user_id": first}
        refresh = stripe_token(
            client, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
        assert client.get("/v1/charges", headers=_bearer(tokens["access_token"])).status_code == 401
        again = client.post(
            "/oauth/deauthorize",
            data={"client_id": STRIPE_CLIENT, "stripe_user_id": first},
            auth=("sk_test_platform", ""),
        )
        assert again.status_code == 401

        other = stripe_connect(client, second)
        client.post(
            "/_sandbox/faults", json={"kind": "revoke", "account": second}
        ).raise_for_status()
        assert client.get("/v1/account", headers=_bearer(other["access_token"])).status_code == 401
        stats = client.get("/_sandbox/stats").json()
        assert stats["token_requests"]["authorization_code"] == 2
        assert stats["token_requests"]["refresh_token"] == 1
