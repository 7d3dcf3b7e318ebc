"""Admin endpoints: accounts, activity, status changes, truth, config; and how the server runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from sandbox.server import start_sandbox
from tests.sandbox.conftest import StartSandbox
from tests.sandbox.helpers import accounts, amazon_connect, stripe_connect

ORDERS = "/orders/2026-01-01/orders"


def test_accounts_describe_the_three_seeded_sellers(make_sandbox: StartSandbox) -> None:
    sandbox = make_sandbox()
    amazon = accounts(sandbox.base_url("amazon"))
    assert [(a["marketplace_id"], a["currency"], a["region"]) for a in amazon] == [
        ("ATVPDKIKX0DER", "USD", "NA"),
        ("A1VC38T7YXB528", "JPY", "FE"),
        ("A1PN6F7K9HD6B2", "EUR", "EU"),
    ]
    stripe = accounts(sandbox.base_url("stripe"))
    assert [a["currency"] for a in stripe] == ["USD", "JPY", "EUR"]
    assert all(a["id"].startswith("acct_") for a in stripe)


def test_amazon_activity_and_status_changes_are_visible_to_the_next_sync(
    make_sandbox: StartSandbox,
) -> None:
    sandbox = make_sandbox(("amazon",))
    base = sandbox.base_url("amazon")
    seller = accounts(base)[2]
    with httpx.Client(base_url=base) as client:
        client.headers["x-amz-access-token"] = amazon_connect(client, seller["id"])["access_token"]
        truth = client.get("/_sandbox/truth").json()["accounts"][seller["id"]]
        since = (datetime.now(UTC) - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
        params = {
            "lastUpdatedAfter": since,
            "marketplaceIds": seller["marketplace_id"],
            "includedData": "PROCEEDS,FULFILLMENT",
        }
        assert client.get(ORDERS, params=params).json()["orders"] == []

        created = client.post(
            "/_sandbox/activity", json={"account": seller["id"], "orders": 4}
        ).json()["created"]
        new = client.get(ORDERS, params=params).json()["orders"]
        assert [o["orderId"] for o in new] == created
        after = client.get("/_sandbox/truth").json()["accounts"][seller["id"]]
        assert after["orders"]["count"] == truth["orders"]["count"] + 4
        added = sum(Decimal(o["proceeds"]["grandTotal"]["amount"]) for o in new)
        grand = Decimal(after["orders"]["sums"]["grand_total"]["EUR"])
        assert grand - Decimal(truth["orders"]["sums"]["grand_total"]["EUR"]) == added
        assert after["transactions"]["count"] == truth["transactions"]["count"] + 4

        old = client.get(
            ORDERS,
            params={
                "createdAfter": "2020-01-01T00:00:00Z",
                "marketplaceIds": seller["marketplace_id"],
                "maxResultsPerPage": "1",
            },
        ).json()["orders"][0]
        changed = client.post(
            f"/_sandbox/orders/{old['orderId']}/status", json={"status": "CANCELLED"}
        )
        assert changed.status_code == 200
        updated = client.get(ORDERS, params=params).json()["orders"]
        match = next(o for o in updated if o["orderId"] == old["orderId"])
        assert match["fulfillment"]["fulfillmentStatus"] == "CANCELLED"
        assert match["lastUpdatedTime"] > old["lastUpdatedTime"]
        bad = client.post(f"/_sandbox/orders/{old['orderId']}/status", json={"status": "LOST"})
        assert bad.status_code == 400
        assert (
            client.post("/_sandbox/orders/nope/status", json={"status": "SHIPPED"}).status_code
            == 404
        )


def test_stripe_activity_and_full_refund(make_sandbox: StartSandbox) -> None:
    sandbox = make_sandbox(("stripe",))
    base = sandbox.base_url("stripe")
    account = accounts(base)[0]
    with httpx.Client(base_url=base) as client:
        client.headers["Authorization"] = (
            f"Bearer {stripe_connect(client, account['id'])['access_token']}"
        )
        truth = client.get("/_sandbox/truth").json()["accounts"][account["id"]]
        created = client.post(
            "/_sandbox/activity", json={"account": account["id"], "orders": 3}
        ).json()["created"]
        newest = client.get("/v1/charges", params={"limit": "3"}).json()["data"]
        assert sorted(c["id"] for c in newest) == sorted(created)
        refund = client.post(f"/_sandbox/orders/{created[0]}/status", json={"status": "refunded"})
        assert refund.status_code == 200
        charge = client.get(f"/v1/charges/{created[0]}").json()
        assert charge["refunded"] is True and charge["amount_refunded"] == charge["amount"]
        after = client.get("/_sandbox/truth").json()["accounts"][account["id"]]
        assert after["charges"]["count"] == truth["charges"]["count"] + 3
        assert after["refunds"]["count"] == truth["refunds"]["count"] + 1
        assert after["balance_transactions"]["count"] == truth["balance_transactions"]["count"] + 4
        again = client.post(f"/_sandbox/orders/{created[0]}/status", json={"status": "refunded"})
        assert again.status_code == 400


def test_config_and_clock_endpoints(make_sandbox: StartSandbox) -> None:
    sandbox = make_sandbox(("amazon",))
    with httpx.Client(base_url=sandbox.base_url("amazon")) as client:
        assert client.get("/_sandbox/config").json()["before_margin"] == 120.0
        assert (
            client.post("/_sandbox/config", json={"release_delay": 60}).json()["release_delay"]
            == 60
        )
        assert client.post("/_sandbox/config", json={"nonsense": 1}).status_code == 422
        assert client.post("/_sandbox/config", json={"release_delay": "soon"}).status_code == 422
        moved = datetime.fromisoformat(
            client.post("/_sandbox/clock", json={"advance_seconds": 3600}).json()["now"]
        )
        assert moved - datetime.now(UTC) > timedelta(minutes=59)


async def test_start_from_inside_a_running_event_loop(tmp_path: Path) -> None:
    sandbox = start_sandbox(["stripe"], tmp_path)
    try:
        async with httpx.AsyncClient() as client:
            reply = await client.get(f"{sandbox.base_url('stripe')}/_sandbox/stats")
            assert reply.status_code == 200
            assert reply.json()["api_requests"] == 0
        await asyncio.sleep(0)
    finally:
        sandbox.stop()


def test_unknown_platform_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown platforms"):
        start_sandbox(["ebay"], tmp_path)
    with start_sandbox(["amazon"], tmp_path) as sandbox, pytest.raises(KeyError):
        sandbox.base_url("stripe")
