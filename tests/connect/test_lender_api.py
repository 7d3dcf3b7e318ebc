"""The lender's HTTP API of the connect flow: sellers, links, disconnect, consent events, apps,
retention; every action confined to the caller's tenant (another tenant's ids answer 404)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from sqlmodel import Session

from connectors.errors import ConnectorError
from sellerhub import control
from sellerhub.runtime import Runtime
from sellerhub.syncing import make_runner
from warehouse.connect_tables import Disconnection
from warehouse.tables import utcnow

from .helpers import Lender, connect_account, link, new_lender, new_seller, sandbox_accounts


@pytest.fixture
async def api(hub: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=str(hub.api_base_url), timeout=30) as client:
        yield client


async def connected(hub: Runtime, lender: Lender, platform: str, index: int = 0) -> str:
    """A seller of ``lender`` connected to ``platform`` through the page; its connection id."""
    seller_id = new_seller(hub, lender)
    account = str((await sandbox_accounts(hub, platform))[index]["id"])
    async with httpx.AsyncClient(timeout=30) as browser:
        callback = await connect_account(
            browser, hub, link(hub, lender, seller_id), platform, account
        )
        assert (await browser.get(callback)).status_code == 303
    (connection,) = control.list_connections(hub.engine, seller_id=seller_id)
    return connection.id


async def probe(hub: Runtime, access_token: str) -> int:
    async with httpx.AsyncClient(timeout=30) as http:
        reply = await http.get(
            f"{hub.sandbox().base_url('stripe')}/v1/account",
            headers={"Authorization": f"Bearer {access_token}"},
        )
    return reply.status_code


async def test_lender_creates_a_seller_and_a_link_the_seller_can_open(
    hub: Runtime, api: httpx.AsyncClient
) -> None:
    lender = new_lender(hub)
    reference = f"loan-{secrets.token_hex(3)}"

    created = await api.post(
        "/v1/sellers",
        json={"reference": reference, "name": "Rhein Outdoor"},
        headers=lender.headers(),
    )
    again = await api.post(
        "/v1/sellers", json={"reference": reference, "name": "Other"}, headers=lender.headers()
    )
    read_only = await api.post(
        "/v1/sellers", json={"reference": "x", "name": "x"}, headers=lender.headers(lender.read_key)
    )

    assert created.status_code == 201, created.text
    seller = created.json()
    assert (seller["reference"], seller["name"]) == (reference, "Rhein Outdoor")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert read_only.status_code == 403
    before = utcnow()
    issued = await api.post(
        f"/v1/sellers/{seller['id']}/connect-links",
        json={"expires_in_hours": 48, "platforms": ["stripe"]},
        headers=lender.headers(),
    )
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["url"].startswith(f"{hub.api_base_url}/connect/")
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert before + timedelta(hours=47) < expires <= utcnow() + timedelta(hours=48)
    page = await api.get(body["url"])
    assert page.status_code == 200 and "Rhein Outdoor" in page.text
    # the link names Stripe only
    assert 'id="connect-stripe"' in page.text and 'id="connect-amazon"' not in page.text
    unknown = await api.post(
        f"/v1/sellers/{seller['id']}/connect-links",
        json={"platforms": ["ebay"]},
        headers=lender.headers(),
    )
    assert unknown.status_code == 422


async def test_tenant_a_cannot_list_read_connect_or_disconnect_tenant_b_sellers(
    hub: Runtime, api: httpx.AsyncClient
) -> None:
    a, b = new_lender(hub), new_lender(hub)
    connection_b = await connected(hub, b, "stripe")
    seller_b = control.list_connections(hub.engine, tenant_id=b.tenant_id)[0].seller_id
    token_before = await hub.token_store(connection_b).load()
    missing = f"sel_{secrets.token_hex(8)}"

    link_b = await api.post(f"/v1/sellers/{seller_b}/connect-links", headers=a.headers())
    link_missing = await api.post(f"/v1/sellers/{missing}/connect-links", headers=a.headers())
    cut_b = await api.post(f"/v1/connections/{connection_b}/disconnect", headers=a.headers())
    events_b = await api.get(
        "/v1/consent-events", params={"seller_id": seller_b}, headers=a.headers()
    )
    events_c = await api.get(
        "/v1/consent-events", params={"connection_id": connection_b}, headers=a.headers()
    )
    own_events = await api.get("/v1/consent-events", headers=a.headers())
    sellers = await api.get("/v1/sellers", headers=a.headers())
    one = await api.get(f"/v1/sellers/{seller_b}", headers=a.headers())

    for response in (link_b, cut_b, events_b, events_c, one):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
    # answers for another tenant's seller and for no seller at all look the same
    assert link_missing.status_code == 404
    assert link_b.json()["error"]["message"].replace(seller_b, "?") == link_missing.json()["error"][
        "message"
    ].replace(missing, "?")
    assert own_events.json()["data"] == []
    if sellers.status_code == 200:  # the scoring API's listing, when present
        assert seller_b not in {s["id"] for s in sellers.json()["data"]}
    # nothing happened to B's connection
    (connection,) = control.list_connections(hub.engine, tenant_id=b.tenant_id)
    assert connection.status == "active"
    assert await hub.token_store(connection_b).load() == token_before
    own = await api.get("/v1/consent-events", headers=b.headers(b.read_key))
    assert [e["action"] for e in own.json()["data"]] == ["granted"]


async def test_lender_disconnect_revokes_at_the_platform_and_destroys_the_token(
    hub: Runtime, api: httpx.AsyncClient
) -> None:
    lender = new_lender(hub)
    connection_id = await connected(hub, lender, "stripe", index=1)
    token = await hub.token_store(connection_id).load()
    assert token is not None
    assert await probe(hub, token["access_token"]) == 200

    response = await api.post(
        f"/v1/connections/{connection_id}/disconnect", headers=lender.headers()
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["revocation"], body["tokens_destroyed"]) == (
        "disconnected",
        "revoked",
        True,
    )
    # the platform no longer honours the grant, and we no longer hold it
    assert await probe(hub, token["access_token"]) == 401
    assert await hub.token_store(connection_id).load() is None
    (connection,) = [c for c in control.list_connections(hub.engine, tenant_id=lender.tenant_id)]
    assert connection.status == "disconnected"
    # syncs stop: the planner only plans active connections, the runner refuses this one
    assert connection_id not in {
        c.id for c in control.list_connections(hub.engine, statuses=["active"])
    }
    with pytest.raises(ConnectorError, match="disconnected"):
        await make_runner(hub).sync_connection(connection_id)
    with Session(hub.engine) as session:
        row = session.get(Disconnection, connection_id)
        assert row is not None and (row.actor_type, row.revocation) == ("lender", "revoked")
    events = (await api.get("/v1/consent-events", headers=lender.headers())).json()["data"]
    withdrawn = [e for e in events if e["action"] == "withdrawn"]
    key_id = lender.key.split("_")[1]
    assert [(e["connection_id"], e["actor"]) for e in withdrawn] == [
        (connection_id, {"type": "lender", "id": key_id})
    ]
    again = await api.post(f"/v1/connections/{connection_id}/disconnect", headers=lender.headers())
    assert again.status_code == 200 and again.json()["already_disconnected"] is True
    events_after = (await api.get("/v1/consent-events", headers=lender.headers())).json()["data"]
    assert len(events_after) == len(events)


async def test_amazon_disconnect_destroys_the_token_where_there_is_nothing_to_revoke(
    hub: Runtime, api: httpx.AsyncClient
) -> None:
    lender = new_lender(hub)
    connection_id = await connected(hub, lender, "amazon")

    body = (
        await api.post(f"/v1/connections/{connection_id}/disconnect", headers=lender.headers())
    ).json()

    assert (body["revocation"], body["tokens_destroyed"]) == ("not_supported", True)
    assert await hub.token_store(connection_id).load() is None


async def test_consent_events_filter_and_page(hub: Runtime, api: httpx.AsyncClient) -> None:
    lender = new_lender(hub)
    first = await connected(hub, lender, "stripe")
    await connected(hub, lender, "amazon")
    await api.post(f"/v1/connections/{first}/disconnect", headers=lender.headers())

    everything = await api.get("/v1/consent-events", headers=lender.headers(lender.read_key))
    withdrawn = await api.get(
        "/v1/consent-events", params={"action": "withdrawn"}, headers=lender.headers()
    )
    page_one = await api.get("/v1/consent-events", params={"limit": 2}, headers=lender.headers())
    page_two = await api.get(
        "/v1/consent-events",
        params={"limit": 2, "after": page_one.json()["next_after"]},
        headers=lender.headers(),
    )
    anonymous = await api.get("/v1/consent-events")

    data = everything.json()["data"]
    assert [(e["platform"], e["action"]) for e in data] == [
        ("stripe", "granted"),
        ("amazon", "granted"),
        ("stripe", "withdrawn"),
    ]
    assert data[0]["scopes"] == ["read_only"] and "payments" in data[0]["data"]
    assert all(e["created_at"].endswith("Z") for e in data)
    assert [e["id"] for e in withdrawn.json()["data"]] == [data[2]["id"]]
    assert [e["id"] for e in page_one.json()["data"] + page_two.json()["data"]] == [
        e["id"] for e in data
    ]
    assert page_two.json()["next_after"] is None
    assert anonymous.status_code == 401


async def test_apps_are_registered_by_admin_keys_and_secrets_never_come_back(
    hub: Runtime, api: httpx.AsyncClient
) -> None:
    lender = new_lender(hub, platforms=())
    secret = f"sk_test_{secrets.token_hex(16)}"
    body = {
        "client_id": f"ca_{secrets.token_hex(8)}",
        "client_secret": secret,
        "environment": "sandbox",
    }

    not_admin = await api.put("/v1/apps/stripe", json=body, headers=lender.headers())
    stored = await api.put("/v1/apps/stripe", json=body, headers=lender.headers(lender.admin_key))
    unknown = await api.put("/v1/apps/myspace", json=body, headers=lender.headers(lender.admin_key))

    assert not_admin.status_code == 403
    assert stored.status_code == 200, stored.text
    assert secret not in stored.text
    assert (stored.json()["client_id"], stored.json()["environment"]) == (
        body["client_id"],
        "sandbox",
    )
    assert hub.app_credentials(lender.tenant_id, "stripe").client_secret == secret
    assert unknown.status_code == 404
    # the new app is offered on the tenant's pages at once
    page = await api.get(link(hub, lender, new_seller(hub, lender)))
    assert 'id="connect-stripe"' in page.text


async def test_retention_policy_is_read_by_readers_and_set_by_admins(
    hub: Runtime, api: httpx.AsyncClient
) -> None:
    lender = new_lender(hub)
    reader = lender.headers(lender.read_key)
    admin = lender.headers(lender.admin_key)

    default = await api.get("/v1/retention-policy", headers=reader)
    refused = await api.put("/v1/retention-policy", json={"mode": "keep"}, headers=reader)
    invalid = await api.put("/v1/retention-policy", json={"mode": "delete"}, headers=admin)
    changed = await api.put(
        "/v1/retention-policy", json={"mode": "delete", "delete_after_days": 30}, headers=admin
    )

    assert default.json() == {"mode": "keep", "delete_after_days": None}
    assert refused.status_code == 403
    assert invalid.status_code == 422
    assert changed.status_code == 200
    assert (await api.get("/v1/retention-policy", headers=reader)).json() == {
        "mode": "delete",
        "delete_after_days": 30,
    }
