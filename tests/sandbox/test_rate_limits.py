"""Documented rate limits: token buckets per (account, operation) and the platforms' 429s."""

from __future__ import annotations

import httpx

from tests.sandbox.conftest import StartSandbox
from tests.sandbox.helpers import accounts, amazon_connect, stripe_connect

ORDERS = "/orders/2026-01-01/orders"
TXNS = "/finances/2024-06-19/transactions"


def test_amazon_production_search_orders_burst_is_20(make_sandbox: StartSandbox) -> None:
    sandbox = make_sandbox(("amazon",), limits="production")
    clock = sandbox.world("amazon").core.clock
    with httpx.Client(base_url=sandbox.base_url("amazon")) as client:
        first, second = accounts(sandbox.base_url("amazon"))[:2]
        tokens = {a["id"]: amazon_connect(client, a["id"])["access_token"] for a in (first, second)}
        clock.freeze()  # no refill during the test: the bucket holds exactly its burst
        params = {
            "createdAfter": "2020-01-01T00:00:00Z",
            "marketplaceIds": first["marketplace_id"],
            "maxResultsPerPage": "1",
        }
        headers = {"x-amz-access-token": tokens[first["id"]]}
        statuses = [
            client.get(ORDERS, params=params, headers=headers).status_code for _ in range(21)
        ]
        assert statuses == [200] * 20 + [429]
        limited = client.get(ORDERS, params=params, headers=headers)
        assert limited.json() == {
            "errors": [
                {
                    "code": "QuotaExceeded",
                    "message": "You exceeded your quota for the requested resource.",
                }
            ]
        }
        assert limited.headers["x-amzn-RateLimit-Limit"] == "0.0056"
        # another operation and another seller have their own buckets
        finances = client.get(TXNS, params={"postedAfter": "2026-01-01T00:00:00Z"}, headers=headers)
        assert finances.status_code != 429 and finances.headers["x-amzn-RateLimit-Limit"] == "0.5"
        other = client.get(
            ORDERS,
            params={**params, "marketplaceIds": second["marketplace_id"]},
            headers={"x-amz-access-token": tokens[second["id"]]},
        )
        assert other.status_code == 200
        clock.advance(1 / 0.0056 + 1)  # one request's worth of refill
        assert client.get(ORDERS, params=params, headers=headers).status_code == 200
        assert client.get(ORDERS, params=params, headers=headers).status_code == 429
        assert client.get("/_sandbox/stats").json()["rate_limited"] == 3


def test_amazon_sandbox_limit_is_5_per_second_burst_15(make_sandbox: StartSandbox) -> None:
    sandbox = make_sandbox(("amazon",))
    sandbox.world("amazon").core.clock.freeze()
    with httpx.Client(base_url=sandbox.base_url("amazon")) as client:
        seller = accounts(sandbox.base_url("amazon"))[0]
        headers = {"x-amz-access-token": amazon_connect(client, seller["id"])["access_token"]}
        replies = [
            client.get("/sellers/v1/marketplaceParticipations", headers=headers) for _ in range(16)
        ]
        assert [r.status_code for r in replies] == [200] * 15 + [429]
        assert {r.headers["x-amzn-RateLimit-Limit"] for r in replies} == {"5"}


def test_stripe_live_mode_allows_100_per_second(make_sandbox: StartSandbox) -> None:
    sandbox = make_sandbox(("stripe",), limits="production")
    sandbox.world("stripe").core.clock.freeze()
    with httpx.Client(base_url=sandbox.base_url("stripe")) as client:
        account = accounts(sandbox.base_url("stripe"))[0]
        headers = {
            "Authorization": f"Bearer {stripe_connect(client, account['id'])['access_token']}"
        }
        statuses = [client.get("/v1/account", headers=headers).status_code for _ in range(101)]
        assert statuses == [200] * 100 + [429]
        error = client.get("/v1/payouts", headers=headers).json()["error"]
        assert error["type"] == "invalid_request_error" and error["code"] == "rate_limit"


def test_stripe_test_mode_allows_25_per_second(make_sandbox: StartSandbox) -> None:
    sandbox = make_sandbox(("stripe",))
    clock = sandbox.world("stripe").core.clock
    clock.freeze()
    with httpx.Client(base_url=sandbox.base_url("stripe")) as client:
        account = accounts(sandbox.base_url("stripe"))[0]
        headers = {
            "Authorization": f"Bearer {stripe_connect(client, account['id'])['access_token']}"
        }
        statuses = [client.get("/v1/charges", headers=headers).status_code for _ in range(26)]
        assert statuses == [200] * 25 + [429]
        clock.advance(0.2)  # 25/s refills five requests
        assert [client.get("/v1/charges", headers=headers).status_code for _ in range(6)] == [
            200
        ] * 5 + [429]
