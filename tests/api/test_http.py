"""The JSON side of the API over real HTTP: connection health, and errors that are always a
JSON body ``{"error": {"code", "message"}}`` with a 4xx status, never a traceback."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import Session

import api.app
from normalizer.registry import MAPPING_VERSION
from sellerhub import control
from sellerhub.apikeys import issue_key
from sellerhub.demo import ensure_demo_tenant
from sellerhub.runtime import Runtime
from warehouse.tables import CANONICAL_TABLES, Connection, SyncRun, table_of, utcnow

from .consent import new_seller, started_callback

ITEM_KEYS = {
    "id",
    "seller_id",
    "platform",
    "environment",
    "platform_account_id",
    "status",
    "health",
    "last_success",
    "last_error",
    "counts",
    "quarantined",
    "mapping_up_to_date",
}


@pytest.fixture
async def http(hub: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the demo tenant (the one ``new_seller`` uses), with a read key."""
    key = issue_key(hub.engine, ensure_demo_tenant(hub), frozenset({"read"}))
    async with httpx.AsyncClient(
        base_url=str(hub.api_base_url),
        headers={"Authorization": f"Bearer {key.plaintext}"},
        timeout=30,
    ) as client:
        yield client


@pytest.fixture
async def anonymous(hub: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=str(hub.api_base_url), timeout=30) as client:
        yield client


def assert_json_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] and body["error"]["message"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    return dict(body["error"])


def connection_for(runtime: Runtime, *, interval: int = 3600) -> Connection:
    """A connection row made directly (no OAuth): the health tests only need its runs."""
    seller = new_seller(runtime)
    connection = control.upsert_connection(
        runtime.engine,
        tenant_id=seller.tenant_id,
        seller_id=seller.seller_id,
        platform="stripe",
        environment="sandbox",
        region="",
        platform_account_id=f"acct_{secrets.token_hex(8)}",
        scopes="read_only",
    )
    with Session(runtime.engine) as session:
        row = session.get(Connection, connection.id)
        assert row is not None
        row.sync_interval_seconds = interval
        session.add(row)
        session.commit()
    return connection


def add_run(
    runtime: Runtime, connection_id: str, stream: str, status: str, finished: datetime, **extra: Any
) -> None:
    with Session(runtime.engine) as session:
        session.add(
            SyncRun(
                connection_id=connection_id,
                stream=stream,
                status=status,
                started_at=finished - timedelta(seconds=5),
                finished_at=finished,
                **extra,
            )
        )
        session.commit()


async def item_of(http: httpx.AsyncClient, connection_id: str) -> dict[str, Any]:
    response = await http.get("/v1/connections")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    items = [i for i in response.json()["data"] if i["id"] == connection_id]
    assert len(items) == 1
    assert set(items[0]) >= ITEM_KEYS
    assert not [key for key in items[0] if "token" in key or "secret" in key]
    return dict(items[0])


async def test_healthz(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_connections_lists_a_new_connection_without_secrets(
    hub: Runtime, http: httpx.AsyncClient
) -> None:
    seller = new_seller(hub)
    async with httpx.AsyncClient(timeout=30) as browser:
        _, callback = await started_callback(browser, hub, seller, "stripe")
        assert (await browser.get(callback)).status_code == 200
    (connection,) = control.list_connections(hub.engine, seller_id=seller.seller_id)

    response = await http.get("/v1/connections")
    item = await item_of(http, connection.id)

    assert item["seller_id"] == seller.seller_id
    assert (item["platform"], item["environment"], item["status"]) == (
        "stripe",
        "sandbox",
        "active",
    )
    assert item["platform_account_id"] == connection.platform_account_id
    assert item["health"] == "never_synced"
    assert item["last_success"] is None and item["last_error"] is None
    assert item["counts"] == {entity: 0 for entity in CANONICAL_TABLES}
    assert item["quarantined"] == 0
    assert item["mapping_up_to_date"] is True
    token = await hub.token_store(connection.id).load()
    assert token is not None
    credentials = hub.app_credentials(seller.tenant_id, "stripe")
    for secret in (token["access_token"], token["refresh_token"], credentials.client_secret):
        assert secret not in response.text


async def test_a_connection_with_rows_from_an_older_mapping_says_so(
    hub: Runtime, http: httpx.AsyncClient
) -> None:
    connection = connection_for(hub, interval=3600)
    assert (await item_of(http, connection.id))["mapping_up_to_date"] is True
    table = table_of(Connection)
    with hub.engine.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.id == connection.id)
            .values(mapping_version=MAPPING_VERSION[connection.platform] - 1)
        )
    assert (await item_of(http, connection.id))["mapping_up_to_date"] is False


async def test_health_follows_the_sync_runs(hub: Runtime, http: httpx.AsyncClient) -> None:
    connection = connection_for(hub, interval=3600)
    now = utcnow().replace(microsecond=0)

    add_run(hub, connection.id, "charges", "succeeded", now - timedelta(hours=3))
    stale = await item_of(http, connection.id)
    assert stale["health"] == "stale"  # older than two sync intervals

    add_run(hub, connection.id, "charges", "succeeded", now - timedelta(minutes=5))
    fresh = await item_of(http, connection.id)
    assert fresh["health"] == "fresh"
    assert fresh["last_success"].endswith("Z")
    assert datetime.fromisoformat(fresh["last_success"].replace("Z", "+00:00")) == now - timedelta(
        minutes=5
    )

    add_run(
        hub,
        connection.id,
        "payouts",
        "failed",
        now - timedelta(minutes=1),
        error="Stripe payouts: HTTP 400 (parameter_invalid)",
        error_action="fail_run",
        error_fault="ours",
    )
    failing = await item_of(http, connection.id)
    assert failing["health"] == "failing"
    assert failing["last_error"] == "Stripe payouts: HTTP 400 (parameter_invalid)"
    assert failing["last_success"] == fresh["last_success"]

    # a later successful run of the failed stream clears the failure
    add_run(hub, connection.id, "payouts", "succeeded", now)
    assert (await item_of(http, connection.id))["health"] == "fresh"


async def test_reauth_required_shows_the_reason(hub: Runtime, http: httpx.AsyncClient) -> None:
    connection = connection_for(hub)
    with Session(hub.engine) as session:
        row = session.get(Connection, connection.id)
        assert row is not None
        row.status = "reauth_required"
        row.status_reason = "Stripe rejected a freshly refreshed access token"
        session.add(row)
        session.commit()

    item = await item_of(http, connection.id)

    assert item["status"] == "reauth_required"
    assert item["health"] == "reauth_required"
    assert item["last_error"] == "Stripe rejected a freshly refreshed access token"


async def test_connections_need_an_api_key(hub: Runtime, anonymous: httpx.AsyncClient) -> None:
    connection_for(hub)
    missing = await anonymous.get("/v1/connections")
    assert assert_json_error(missing, 401)["code"] == "unauthenticated"
    for presented in ("shk_nope_nope", "not-a-key", "shk_" + "a" * 300 + "_x", "Bearer"):
        wrong = await anonymous.get("/v1/connections", headers={"X-API-Key": presented})
        assert assert_json_error(wrong, 401)["code"] == "unauthenticated"
        assert presented not in wrong.text


async def test_a_key_without_the_read_scope_is_forbidden(
    hub: Runtime, anonymous: httpx.AsyncClient
) -> None:
    key = issue_key(hub.engine, ensure_demo_tenant(hub), frozenset({"connect"}))
    response = await anonymous.get(
        "/v1/connections", headers={"Authorization": f"Bearer {key.plaintext}"}
    )
    assert assert_json_error(response, 403)["code"] == "forbidden"


async def test_a_tenant_sees_only_its_own_connections(
    hub: Runtime, anonymous: httpx.AsyncClient
) -> None:
    ours = connection_for(hub)  # the demo tenant's
    other = control.ensure_tenant(hub.engine, f"Other Lender {secrets.token_hex(3)}")
    key = issue_key(hub.engine, other.id, frozenset({"read"}))

    response = await anonymous.get("/v1/connections", headers={"X-API-Key": key.plaintext})

    assert response.status_code == 200
    assert response.json() == {"data": []}
    assert ours.id not in response.text


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/nope", 404, "not_found"),
        ("GET", "/v1/connections/con_missing/extra", 404, "not_found"),
        ("GET", "/oauth/callback/", 404, "not_found"),
        ("GET", "/oauth/callback", 404, "not_found"),
        ("POST", "/v1/connections", 405, "method_not_allowed"),
        ("DELETE", "/healthz", 405, "method_not_allowed"),
        ("POST", "/oauth/callback/stripe?state=x&code=y", 405, "method_not_allowed"),
    ],
)
async def test_unknown_routes_and_methods_are_json_4xx(
    anonymous: httpx.AsyncClient, method: str, path: str, status: int, code: str
) -> None:
    response = await anonymous.request(method, path)
    assert assert_json_error(response, status)["code"] == code


async def test_unexpected_failure_is_a_json_500_without_internals(
    hub: Runtime, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection_for(hub)  # something to summarize

    def broken(*_: object) -> object:
        raise RuntimeError("secret-ish internal detail /srv/app/module.py line 12")

    monkeypatch.setattr(api.app, "summarize", broken)
    response = await http.get("/v1/connections")
    error = assert_json_error(response, 500)
    assert error["code"] == "internal_error"
    assert "secret-ish" not in response.text and "RuntimeError" not in response.text
