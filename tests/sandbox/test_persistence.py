"""A later process on the same state dir serves the same world and honours earlier grants."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.sandbox.conftest import StartSandbox
from tests.sandbox.helpers import (
    REDIRECT,
    accounts,
    amazon_code,
    amazon_connect,
    amazon_token,
    stripe_connect,
    stripe_token,
)

ORDERS = "/orders/2026-01-01/orders"


def _first_orders(base: str, token: str, market: str) -> list[str]:
    params = {
        "createdAfter": "2020-01-01T00:00:00Z",
        "marketplaceIds": market,
        "maxResultsPerPage": "100",
    }
    reply = httpx.get(f"{base}{ORDERS}", params=params, headers={"x-amz-access-token": token})
    assert reply.status_code == 200
    return [o["orderId"] for o in reply.json()["orders"]]


def test_restart_keeps_data_ids_tokens_and_activity(
    make_sandbox: StartSandbox, tmp_path: Path
) -> None:
    state = tmp_path / "shared-state"
    first = make_sandbox(state_dir=state)
    amazon_base, stripe_base = first.base_url("amazon"), first.base_url("stripe")
    seller = accounts(amazon_base)[0]
    account = accounts(stripe_base)[0]
    with httpx.Client(base_url=amazon_base) as client:
        amazon_tokens = amazon_connect(client, seller["id"])
        unused_code = amazon_code(client, seller["id"])
        used_code = amazon_code(client, seller["id"])
        amazon_token(client, grant_type="authorization_code", code=used_code, redirect_uri=REDIRECT)
        added = client.post(
            "/_sandbox/activity", json={"account": seller["id"], "orders": 2}
        ).json()["created"]
    with httpx.Client(base_url=stripe_base) as client:
        stripe_tokens = stripe_connect(client, account["id"])
        refunded_charge = client.get(
            "/v1/charges",
            params={"limit": "1"},
            headers={"Authorization": f"Bearer {stripe_tokens['access_token']}"},
        ).json()["data"][0]["id"]
        client.post(
            f"/_sandbox/orders/{refunded_charge}/status", json={"status": "refunded"}
        ).raise_for_status()
    orders_before = _first_orders(
        amazon_base, amazon_tokens["access_token"], seller["marketplace_id"]
    )
    truth_before = {
        p: httpx.get(f"{first.base_url(p)}/_sandbox/truth").json()["accounts"]
        for p in ("amazon", "stripe")
    }
    first.stop()

    config = json.loads((state / "sandbox.json").read_text())
    assert config == {"seed": 7, "anchor": first.config.anchor.isoformat()}
    assert abs((first.config.anchor - datetime.now(UTC).date()).days) <= 1  # created today

    second = make_sandbox(state_dir=state, seed=99)  # the stored seed wins
    amazon_base, stripe_base = second.base_url("amazon"), second.base_url("stripe")
    assert accounts(amazon_base)[0]["id"] == seller["id"]
    assert (
        _first_orders(amazon_base, amazon_tokens["access_token"], seller["marketplace_id"])
        == orders_before
    )
    for platform in ("amazon", "stripe"):
        truth_after = httpx.get(f"{second.base_url(platform)}/_sandbox/truth").json()["accounts"]
        assert truth_after == truth_before[platform]
    with httpx.Client(base_url=amazon_base) as client:
        refreshed = amazon_token(
            client, grant_type="refresh_token", refresh_token=amazon_tokens["refresh_token"]
        )
        assert refreshed.status_code == 200
        # a code issued before the restart still works once, a used one never again
        later = amazon_token(
            client, grant_type="authorization_code", code=unused_code, redirect_uri=REDIRECT
        )
        assert later.status_code == 200
        replay = amazon_token(
            client, grant_type="authorization_code", code=used_code, redirect_uri=REDIRECT
        )
        assert replay.json()["error"] == "invalid_grant"
    with httpx.Client(base_url=stripe_base) as client:
        headers = {"Authorization": f"Bearer {stripe_tokens['access_token']}"}
        charge = client.get(f"/v1/charges/{refunded_charge}", headers=headers).json()
        assert charge["refunded"] is True
        assert (
            stripe_token(
                client, grant_type="refresh_token", refresh_token=stripe_tokens["refresh_token"]
            ).status_code
            == 200
        )
    assert set(added) <= set(
        _all_order_ids(amazon_base, amazon_tokens["access_token"], seller["marketplace_id"])
    )


def _all_order_ids(base: str, token: str, market: str) -> list[str]:
    ids: list[str] = []
    params = {
        "createdAfter": "2020-01-01T00:00:00Z",
        "marketplaceIds": market,
        "maxResultsPerPage": "100",
    }
    with httpx.Client(base_url=base, headers={"x-amz-access-token": token}) as client:
        query = dict(params)
        while True:
            body = client.get(ORDERS, params=query).json()
            ids.extend(o["orderId"] for o in body["orders"])
            if "pagination" not in body:
                return ids
            query = {**params, "paginationToken": body["pagination"]["nextToken"]}


def test_same_seed_same_world_in_another_state_dir(
    make_sandbox: StartSandbox, tmp_path: Path
) -> None:
    one = make_sandbox(("stripe",), state_dir=tmp_path / "one")
    two = make_sandbox(("stripe",), state_dir=tmp_path / "two")
    other = make_sandbox(("stripe",), state_dir=tmp_path / "three", seed=8)
    ids = [[a["id"] for a in accounts(s.base_url("stripe"))] for s in (one, two, other)]
    assert ids[0] == ids[1] != ids[2]
    grants = tmp_path / "one" / "stripe_grants.json"
    with httpx.Client(base_url=one.base_url("stripe")) as client:
        tokens = stripe_connect(client, ids[0][0])
    stored = grants.read_text()
    assert tokens["access_token"] not in stored and tokens["refresh_token"] not in stored
