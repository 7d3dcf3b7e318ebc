"""Every kind of emulator response validates against the platform's official spec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sandbox.server import RunningSandbox
from tests.sandbox.helpers import accounts, amazon_connect, decimal_json, get, stripe_connect
from tests.sandbox.specs import (
    FINANCES,
    ORDERS,
    SELLERS,
    amazon_validator,
    errors_of,
    stripe_validator,
)

ALL_DATA = "BUYER,RECIPIENT,PROCEEDS,FULFILLMENT,EXPENSE,TAX"


@pytest.fixture(scope="module")
def amazon_headers(shared_sandbox: RunningSandbox) -> list[dict[str, str]]:
    base = shared_sandbox.base_url("amazon")
    with httpx.Client(base_url=base) as client:
        return [
            {"x-amz-access-token": amazon_connect(client, a["id"])["access_token"]}
            for a in accounts(base)
        ]


@pytest.fixture(scope="module")
def stripe_headers(shared_sandbox: RunningSandbox) -> list[dict[str, str]]:
    base = shared_sandbox.base_url("stripe")
    with httpx.Client(base_url=base) as client:
        return [
            {"Authorization": f"Bearer {stripe_connect(client, a['id'])['access_token']}"}
            for a in accounts(base)
        ]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_search_orders_matches_orders_model(
    amazon: httpx.Client, amazon_headers: list[dict[str, str]]
) -> None:
    validator = amazon_validator(ORDERS, "SearchOrdersResponse")
    for headers, account in zip(amazon_headers, accounts(str(amazon.base_url)), strict=True):
        params = {
            "createdAfter": "2020-01-01T00:00:00Z",
            "marketplaceIds": account["marketplace_id"],
            "includedData": ALL_DATA,
            "maxResultsPerPage": "100",
        }
        reply = get(amazon, "/orders/2026-01-01/orders", params=params, headers=headers)
        assert reply.status_code == 200
        body = reply.json()
        assert len(body["orders"]) == 100 and "pagination" in body
        assert errors_of(validator, body) == []


def test_list_transactions_matches_finances_model(
    amazon: httpx.Client, amazon_headers: list[dict[str, str]]
) -> None:
    validator = amazon_validator(FINANCES, "ListTransactionsResponse")
    after = datetime.now(UTC) - timedelta(days=170)
    kinds: set[str] = set()
    for headers in amazon_headers:
        reply = get(
            amazon,
            "/finances/2024-06-19/transactions",
            params={"postedAfter": _iso(after)},
            headers=headers,
        )
        assert reply.status_code == 200
        assert errors_of(validator, reply.json()) == []  # floats for numbers
        body = decimal_json(reply)
        assert errors_of(validator, body) == []  # exact decimals also are numbers
        kinds |= {t["transactionType"] for t in body["payload"]["transactions"]}
    assert {"Shipment", "Transfer"} <= kinds


def test_participations_and_errors_match_their_models(
    amazon: httpx.Client, amazon_headers: list[dict[str, str]]
) -> None:
    ok = get(amazon, "/sellers/v1/marketplaceParticipations", headers=amazon_headers[2])
    assert (
        errors_of(amazon_validator(SELLERS, "GetMarketplaceParticipationsResponse"), ok.json())
        == []
    )
    assert len(ok.json()["payload"]) == 3
    error_list = amazon_validator(ORDERS, "ErrorList")
    bad_request = get(
        amazon,
        "/orders/2026-01-01/orders",
        params={"marketplaceIds": "ATVPDKIKX0DER"},
        headers=amazon_headers[0],
    )
    assert bad_request.status_code == 400
    forbidden = amazon.get("/orders/2026-01-01/orders", headers={"x-amz-access-token": "nope"})
    assert forbidden.status_code == 403
    for reply in (bad_request, forbidden):
        assert errors_of(error_list, reply.json()) == []
        assert errors_of(amazon_validator(FINANCES, "ErrorList"), reply.json()) == []


@pytest.mark.parametrize(
    "path",
    ["/v1/charges", "/v1/refunds", "/v1/balance_transactions", "/v1/payouts", "/v1/disputes"],
)
def test_stripe_lists_match_the_subset_spec(
    stripe: httpx.Client, stripe_headers: list[dict[str, str]], path: str
) -> None:
    validator = stripe_validator(path)
    for headers in stripe_headers:
        reply = get(stripe, path, params={"limit": "100"}, headers=headers)
        assert reply.status_code == 200
        body = reply.json()
        assert body["data"], f"{path} returned nothing"
        assert errors_of(validator, body) == []


def test_stripe_account_and_errors_match_the_subset_spec(
    stripe: httpx.Client, stripe_headers: list[dict[str, str]]
) -> None:
    for headers in stripe_headers:
        reply = get(stripe, "/v1/account", headers=headers)
        assert errors_of(stripe_validator("/v1/account"), reply.json()) == []
    error = stripe_validator("/v1/charges", "default")
    unauthorized = stripe.get("/v1/charges", headers={"Authorization": "Bearer sk_test_wrong"})
    bad_limit = get(stripe, "/v1/charges", params={"limit": "500"}, headers=stripe_headers[0])
    bad_cursor = get(
        stripe, "/v1/charges", params={"starting_after": "ch_missing"}, headers=stripe_headers[0]
    )
    for reply, status in ((unauthorized, 401), (bad_limit, 400), (bad_cursor, 400)):
        assert reply.status_code == status
        assert errors_of(error, reply.json()) == []
