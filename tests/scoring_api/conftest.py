"""One running hub per database with two tenants' data, shared by the scoring API tests.

Tenant A (the demo tenant) has one seller connected to Amazon and Stripe, synced in full (a
backfill of the emulators' seeded months); tenant B has one seller connected to another Stripe
account, of which only the account and the charges are synced. Each tenant gets API keys.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sellerhub import control
from sellerhub.apikeys import issue_key
from sellerhub.demo import approve_at_platform, sandbox_accounts
from sellerhub.onboarding import start_authorization
from sellerhub.runtime import Runtime, sandbox_app_credentials
from sellerhub.syncing import sync_connections
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.integration.harness import connect, running_hub
from warehouse import metrics


@dataclass(frozen=True)
class World:
    runtime: Runtime
    base_url: str
    tenant_a: str
    tenant_b: str
    sellers_a: frozenset[str]
    seller_b: str
    connections_a: frozenset[str]
    connections_b: frozenset[str]
    key_a: str
    key_b: str
    key_without_read: str

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key_a}"}


async def _connect_stripe_account(runtime: Runtime, tenant_id: str, seller_id: str) -> None:
    """Tenant B's seller approves access to the emulator's second Stripe account."""
    runtime.register_app(tenant_id, "stripe", sandbox_app_credentials("stripe"))
    async with httpx.AsyncClient(timeout=30) as http:
        accounts = await sandbox_accounts(http, runtime.sandbox().base_url("stripe"))
        started = start_authorization(
            runtime,
            tenant_id=tenant_id,
            seller_id=seller_id,
            platform="stripe",
            environment="sandbox",
            region="",
        )
        response = await approve_at_platform(http, started.url, str(accounts[1]["id"]))
        assert response.status_code == 200, response.text


async def _populate(runtime: Runtime) -> World:
    connections_a = await connect(runtime, sellers=1)
    tenant_a = connections_a[0].tenant_id
    tenant_b = control.ensure_tenant(runtime.engine, "Other Lender").id
    seller_b = control.ensure_seller(runtime.engine, tenant_b, "b-1", "Other Seller").id
    await _connect_stripe_account(runtime, tenant_b, seller_b)
    connections = control.list_connections(runtime.engine, statuses=["active"])
    # tenant B needs only some rows of its own (to be kept out of A's answers): its charges
    reports = await asyncio.gather(
        sync_connections(runtime, connections_a, trigger="backfill"),
        sync_connections(
            runtime,
            [c for c in connections if c.tenant_id == tenant_b],
            streams=["account", "charges"],
            trigger="backfill",
        ),
    )
    assert all(report.ok for report in reports), reports
    metrics.refresh(runtime.engine, tenant_id=tenant_a)
    by_tenant: dict[str, set[str]] = {tenant_a: set(), tenant_b: set()}
    for connection in connections:
        by_tenant[connection.tenant_id].add(connection.id)
    assert runtime.api_base_url is not None
    return World(
        runtime=runtime,
        base_url=runtime.api_base_url,
        tenant_a=tenant_a,
        tenant_b=tenant_b,
        sellers_a=frozenset(c.seller_id for c in connections if c.tenant_id == tenant_a),
        seller_b=seller_b,
        connections_a=frozenset(by_tenant[tenant_a]),
        connections_b=frozenset(by_tenant[tenant_b]),
        key_a=issue_key(runtime.engine, tenant_a).plaintext,
        key_b=issue_key(runtime.engine, tenant_b).plaintext,
        key_without_read=issue_key(runtime.engine, tenant_a, frozenset({"connect"})).plaintext,
    )


@pytest.fixture(
    scope="package",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    home: Path = tmp_path_factory.mktemp(f"scoring-{request.param}")
    if request.param == "sqlite":
        with running_hub(home, f"sqlite:///{home / 'warehouse.db'}") as runtime:
            yield asyncio.run(_populate(runtime))
        return
    created = create_postgres_database()
    if created is None:
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432; PostgreSQL tests skipped")
    url, server = created
    try:
        with running_hub(home, url) as runtime:
            yield asyncio.run(_populate(runtime))
    finally:
        drop_postgres_database(url, server)


@pytest.fixture
def api(world: World) -> Iterator[httpx.Client]:
    """An HTTP client on the running API with tenant A's key."""
    with httpx.Client(base_url=world.base_url, headers=world.headers(), timeout=30) as client:
        yield client


def walk(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every row of a list, page by page, following next_cursor."""
    rows: list[dict[str, Any]] = []
    query = {k: v for k, v in params.items() if v is not None}
    while True:
        response = client.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"data", "next_cursor"}
        rows.extend(body["data"])
        if body["next_cursor"] is None:
            return rows
        query = {"cursor": body["next_cursor"], "limit": params.get("limit", 100)}
