"""The OAuth callback over real HTTP: the seller answers the emulator's consent page, the
platform redirects to ``/oauth/callback/{platform}``, and our page says what happened.

Only a valid, unexpired, unused state for the same platform, followed by a successful code
exchange, may store anything (a connection row and a token in the vault).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, col, select

import api.app
from sellerhub import control
from sellerhub.runtime import Runtime
from warehouse.tables import OAuthState, SyncEvent, utcnow

from .consent import (
    new_seller,
    on_path,
    sandbox_accounts,
    snapshot,
    started_callback,
    with_params,
)

PLATFORMS = ["amazon", "stripe"]
# the callback parameter that carries the code (Amazon: spapi_oauth_code,
# https://developer-docs.amazon.com/sp-api/docs/website-authorization-workflow)
CODE_PARAM = {"amazon": "spapi_oauth_code", "stripe": "code"}
# an API read that only a valid access token may make, and how the token is sent
PROBE = {
    "amazon": ("/sellers/v1/marketplaceParticipations", "x-amz-access-token", ""),
    "stripe": ("/v1/account", "Authorization", "Bearer "),
}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


def result_of(page: httpx.Response) -> tuple[str, bool]:
    """The page's headline and whether it reports success."""
    match = re.search(r'<h1 id="result" data-ok="(true|false)">([^<]*)</h1>', page.text)
    assert match, f"not a result page: {page.text[:300]}"
    return match.group(2), match.group(1) == "true"


def secrets_of(runtime: Runtime, tenant_id: str, platform: str) -> list[str]:
    credentials = runtime.app_credentials(tenant_id, platform)
    return [credentials.client_secret]


def assert_no_secrets(page: httpx.Response, values: list[str]) -> None:
    for value in values:
        assert value and value not in page.text


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_approved_consent_connects_the_account_and_stores_the_token(
    hub: Runtime, http: httpx.AsyncClient, platform: str
) -> None:
    seller = new_seller(hub)
    chosen = (await sandbox_accounts(http, hub, platform))[-1]
    account = str(chosen["id"])
    state, callback = await started_callback(http, hub, seller, platform, account=account)
    assert callback.startswith(f"{hub.api_base_url}/oauth/callback/{platform}?")

    page = await http.get(callback)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    title, ok = result_of(page)
    assert (title, ok) == ("Connected", True)
    assert account in page.text
    connections = control.list_connections(hub.engine, seller_id=seller.seller_id)
    assert [(c.platform, c.platform_account_id, c.status, c.environment) for c in connections] == [
        (platform, account, "active", "sandbox")
    ]
    connection = connections[0]
    token = await hub.token_store(connection.id).load()
    assert token is not None
    assert token["access_token"] and token["refresh_token"]
    assert token["account_id"] == account
    # the stored token is the one the platform issued: it reads this account's data
    path, header, prefix = PROBE[platform]
    probe = await http.get(
        f"{hub.sandbox().base_url(platform)}{path}",
        headers={header: f"{prefix}{token['access_token']}"},
    )
    assert probe.status_code == 200, probe.text
    # Stripe's account object has the id; Amazon's participations name the store
    assert (account if platform == "stripe" else chosen["name"]) in probe.text
    # the seller's page shows neither the tokens, the code nor our app's secret
    code = dict(httpx.URL(callback).params)[CODE_PARAM[platform]]
    assert_no_secrets(
        page,
        [
            token["access_token"],
            token["refresh_token"],
            code,
            *secrets_of(hub, seller.tenant_id, platform),
        ],
    )
    with Session(hub.engine) as session:
        used = session.get(OAuthState, state)
        assert used is not None and used.used_at is not None
        kinds = [
            event.kind
            for event in session.exec(
                select(SyncEvent)
                .where(SyncEvent.connection_id == connection.id)
                .order_by(col(SyncEvent.id))
            )
        ]
    assert kinds[-1] in ("connected", "reconnected")


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_declined_consent_says_access_was_not_granted(
    hub: Runtime, http: httpx.AsyncClient, platform: str
) -> None:
    seller = new_seller(hub)
    _, callback = await started_callback(http, hub, seller, platform, decision="deny")
    assert httpx.URL(callback).params["error"] == "access_denied"
    before = snapshot(hub)

    page = await http.get(callback)

    assert page.status_code == 400
    title, ok = result_of(page)
    assert not ok
    assert title == "Access not granted"
    assert "Nothing was connected" in page.text
    assert snapshot(hub) == before
    assert control.list_connections(hub.engine, seller_id=seller.seller_id) == []


def _missing_state(url: str, state: str) -> str:
    return with_params(url, drop=("state",))


def _forged_state(url: str, state: str) -> str:
    return with_params(url, state=secrets.token_urlsafe(32))


def _odd_state(url: str, state: str) -> str:
    # not something we ever issue: NUL and non-ASCII must not reach the database as a key
    return with_params(url, state="\x00'; drop table oauth_states; --\u00e9" * 8)


@pytest.mark.parametrize(
    ("tamper", "title"),
    [
        (_missing_state, "Missing state"),
        (_forged_state, "Unknown authorization"),
        (_odd_state, "Unknown authorization"),
    ],
    ids=["missing", "forged", "malformed"],
)
@pytest.mark.parametrize("platform", PLATFORMS)
async def test_callback_without_a_state_we_issued_is_refused(
    hub: Runtime, http: httpx.AsyncClient, platform: str, tamper: object, title: str
) -> None:
    seller = new_seller(hub)
    state, callback = await started_callback(http, hub, seller, platform)
    before = snapshot(hub)

    page = await http.get(tamper(callback, state))  # type: ignore[operator]

    assert page.status_code == 400
    assert result_of(page) == (title, False)
    assert "Start again" in page.text
    assert snapshot(hub) == before
    assert control.list_connections(hub.engine, seller_id=seller.seller_id) == []


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_replayed_callback_is_refused_and_changes_nothing(
    hub: Runtime, http: httpx.AsyncClient, platform: str
) -> None:
    seller = new_seller(hub)
    _, callback = await started_callback(http, hub, seller, platform)
    first = await http.get(callback)
    assert result_of(first) == ("Connected", True)
    (connection,) = control.list_connections(hub.engine, seller_id=seller.seller_id)
    token = await hub.token_store(connection.id).load()
    before = snapshot(hub)

    again = await http.get(callback)

    assert again.status_code == 400
    assert result_of(again) == ("Link already used", False)
    assert snapshot(hub) == before
    assert await hub.token_store(connection.id).load() == token


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_expired_state_is_refused(
    hub: Runtime, http: httpx.AsyncClient, platform: str
) -> None:
    seller = new_seller(hub)
    state, callback = await started_callback(http, hub, seller, platform)
    with Session(hub.engine) as session:
        pending = session.get(OAuthState, state)
        assert pending is not None
        pending.expires_at = utcnow() - timedelta(seconds=1)
        session.add(pending)
        session.commit()
    before = snapshot(hub)

    page = await http.get(callback)

    assert page.status_code == 400
    assert result_of(page) == ("Authorization expired", False)
    assert snapshot(hub) == before
    assert control.list_connections(hub.engine, seller_id=seller.seller_id) == []


async def test_state_of_another_platform_is_refused(hub: Runtime, http: httpx.AsyncClient) -> None:
    seller = new_seller(hub)
    _, callback = await started_callback(http, hub, seller, "amazon")
    before = snapshot(hub)

    page = await http.get(on_path(callback, "/oauth/callback/stripe"))

    assert page.status_code == 400
    assert result_of(page) == ("Wrong platform", False)
    assert snapshot(hub) == before
    assert control.list_connections(hub.engine, seller_id=seller.seller_id) == []


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_failed_code_exchange_stores_nothing(
    hub: Runtime, http: httpx.AsyncClient, platform: str
) -> None:
    seller = new_seller(hub)
    _, callback = await started_callback(http, hub, seller, platform)
    tampered = secrets.token_urlsafe(18)
    before = snapshot(hub)

    page = await http.get(with_params(callback, **{CODE_PARAM[platform]: tampered}))

    assert 400 <= page.status_code < 600 and page.status_code != 500
    title, ok = result_of(page)
    assert (title, ok) == ("Authorization failed", False)
    assert "Nothing was connected" in page.text
    assert "Traceback" not in page.text
    assert_no_secrets(page, secrets_of(hub, seller.tenant_id, platform))
    assert snapshot(hub) == before
    assert control.list_connections(hub.engine, seller_id=seller.seller_id) == []


async def test_error_other_than_a_refusal_is_reported_and_stores_nothing(
    hub: Runtime, http: httpx.AsyncClient
) -> None:
    seller = new_seller(hub)
    _, callback = await started_callback(http, hub, seller, "stripe")
    before = snapshot(hub)

    page = await http.get(with_params(callback, drop=("code",), error="server_error"))

    assert page.status_code == 400
    title, ok = result_of(page)
    assert (title, ok) == ("Authorization failed", False)
    assert "server_error" in page.text
    assert snapshot(hub) == before


async def test_unexpected_failure_is_a_page_without_internals(
    hub: Runtime, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seller = new_seller(hub)
    _, callback = await started_callback(http, hub, seller, "stripe")

    async def broken(*_: object) -> object:
        raise RuntimeError("vault unavailable: sk_test_not_for_sellers")

    monkeypatch.setattr(api.app, "complete_authorization", broken)
    page = await http.get(callback)

    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert result_of(page) == ("Something went wrong", False)
    assert "sk_test_not_for_sellers" not in page.text and "RuntimeError" not in page.text
