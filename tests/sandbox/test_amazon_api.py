"""Amazon SP-API emulator: searchOrders, listTransactions, marketplaceParticipations."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.server import RunningSandbox
from tests.sandbox.conftest import StartSandbox
from tests.sandbox.helpers import accounts, amazon_connect, amazon_walk, decimal_json, get

ORDERS = "/orders/2026-01-01/orders"
TXNS = "/finances/2024-06-19/transactions"
LONG_AGO = "2020-01-01T00:00:00Z"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def sellers(shared_sandbox: RunningSandbox) -> list[dict[str, Any]]:
    """The seeded sellers, each with an access token."""
    base = shared_sandbox.base_url("amazon")
    with httpx.Client(base_url=base) as client:
        return [
            {
                **a,
                "headers": {
                    "x-amz-access-token": amazon_connect(client, str(a["id"]))["access_token"]
                },
            }
            for a in accounts(base)
        ]


def _headers(seller: dict[str, Any]) -> dict[str, str]:
    headers = seller["headers"]
    assert isinstance(headers, dict)
    return headers


def _orders(client: httpx.Client, seller: dict[str, Any], **params: str) -> list[dict[str, Any]]:
    query = {"createdAfter": LONG_AGO, "marketplaceIds": str(seller["marketplace_id"]), **params}
    client.headers.update(_headers(seller))
    return list(amazon_walk(client, ORDERS, query, "orders", "paginationToken"))


def _transactions(
    client: httpx.Client, seller: dict[str, Any], now: datetime
) -> list[dict[str, Any]]:
    """All transactions, in windows of at most 180 days (the documented maximum)."""
    client.headers.update(_headers(seller))
    found: list[dict[str, Any]] = []
    end = now - timedelta(minutes=3)
    start = end - timedelta(days=400)
    while start < end:
        stop = min(start + timedelta(days=180), end)
        params = {"postedAfter": _iso(start), "postedBefore": _iso(stop)}
        found.extend(amazon_walk(client, TXNS, params, "payload", "nextToken"))
        start = stop
    return found


def test_full_order_walk_matches_truth_without_duplicates(
    amazon: httpx.Client, sellers: list[dict[str, Any]]
) -> None:
    truth = amazon.get("/_sandbox/truth").json()["accounts"]
    currencies = set()
    for seller in sellers:
        orders = _orders(amazon, seller, includedData="PROCEEDS", maxResultsPerPage="50")
        ids = [o["orderId"] for o in orders]
        assert len(ids) == len(set(ids))
        created = [o["createdTime"] for o in orders]
        assert created == sorted(created)
        expected = truth[seller["id"]]
        assert len(orders) == expected["orders"]["count"] > 7 * 80 * 0.8
        currency = str(seller["currency"])
        total = sum(Decimal(o["proceeds"]["grandTotal"]["amount"]) for o in orders)
        assert {currency: format(total, "f")} == expected["orders"]["sums"]["grand_total"]
        lines = [line for o in orders for line in o["orderItems"]]
        assert len(lines) == expected["order_items"]["count"]
        currencies.add(currency)
    assert currencies == {"USD", "JPY", "EUR"}


def test_money_is_a_decimal_string_with_the_currency_exponent(
    amazon: httpx.Client, sellers: list[dict[str, Any]]
) -> None:
    for seller in sellers:
        reply = get(
            amazon,
            ORDERS,
            params={
                "createdAfter": LONG_AGO,
                "marketplaceIds": seller["marketplace_id"],
                "includedData": "PROCEEDS",
                "maxResultsPerPage": "20",
            },
            headers=_headers(seller),
        )
        for order in reply.json()["orders"]:
            proceeds = order["proceeds"]
            amounts = [proceeds["grandTotal"]] + [b["subtotal"] for b in proceeds["breakdowns"]]
            pattern = r"^\d+$" if seller["currency"] == "JPY" else r"^\d+\.\d\d$"
            assert all(
                isinstance(m["amount"], str) and re.match(pattern, m["amount"]) for m in amounts
            )
            parts = sum(Decimal(b["subtotal"]["amount"]) for b in proceeds["breakdowns"])
            assert parts == Decimal(proceeds["grandTotal"]["amount"])
            for item in order["orderItems"]:
                unit = Decimal(item["product"]["price"]["unitPrice"]["amount"])
                item_part = next(b for b in item["proceeds"]["breakdowns"] if b["type"] == "ITEM")
                assert Decimal(item_part["subtotal"]["amount"]) == unit * item["quantityOrdered"]


def test_buyer_pii_only_when_included(amazon: httpx.Client, sellers: list[dict[str, Any]]) -> None:
    seller = sellers[0]
    params = {
        "createdAfter": LONG_AGO,
        "marketplaceIds": seller["marketplace_id"],
        "maxResultsPerPage": "5",
    }
    plain = get(amazon, ORDERS, params=params, headers=_headers(seller)).json()["orders"]
    assert all("buyer" not in o and "recipient" not in o and "proceeds" not in o for o in plain)
    rich = get(
        amazon,
        ORDERS,
        params={**params, "includedData": "BUYER,RECIPIENT,FULFILLMENT"},
        headers=_headers(seller),
    ).json()["orders"]
    for order in rich:
        assert order["buyer"]["buyerName"] and order["buyer"]["buyerEmail"].endswith(
            "@marketplace.amazon.com"
        )
        address = order["recipient"]["deliveryAddress"]
        assert address["countryCode"] == "US" and address["addressLine1"] and address["postalCode"]
        assert order["fulfillment"]["fulfillmentStatus"] in {
            "SHIPPED",
            "CANCELLED",
            "UNSHIPPED",
            "PENDING",
        }


def test_search_orders_parameter_rules(amazon: httpx.Client, sellers: list[dict[str, Any]]) -> None:
    seller = sellers[0]
    market = str(seller["marketplace_id"])
    soon = _iso(datetime.now(UTC) - timedelta(seconds=30))
    bad = [
        {"marketplaceIds": market},  # neither createdAfter nor lastUpdatedAfter
        {"createdAfter": LONG_AGO, "lastUpdatedAfter": LONG_AGO, "marketplaceIds": market},
        {"createdAfter": LONG_AGO, "createdBefore": soon, "marketplaceIds": market},
        {"createdAfter": LONG_AGO, "lastUpdatedBefore": LONG_AGO, "marketplaceIds": market},
        {"createdAfter": LONG_AGO},  # no marketplaceIds
        {"createdAfter": LONG_AGO, "marketplaceIds": market, "maxResultsPerPage": "0"},
        {"createdAfter": LONG_AGO, "marketplaceIds": market, "maxResultsPerPage": "101"},
        {"createdAfter": "yesterday", "marketplaceIds": market},
        {"createdAfter": LONG_AGO, "marketplaceIds": market, "includedData": "EVERYTHING"},
    ]
    for params in bad:
        reply = get(amazon, ORDERS, params=params, headers=_headers(seller))
        assert reply.status_code == 400, params
        assert reply.json()["errors"][0]["code"] == "InvalidInput"
    other_market = get(
        amazon,
        ORDERS,
        params={"createdAfter": LONG_AGO, "marketplaceIds": "A1PN6F7K9HD6B2"},
        headers=_headers(seller),
    )
    assert other_market.status_code == 200 and other_market.json()["orders"] == []


def test_last_updated_filter_and_echoed_upper_bound(
    amazon: httpx.Client, sellers: list[dict[str, Any]]
) -> None:
    seller = sellers[1]
    since = datetime.now(UTC) - timedelta(days=30)
    until = datetime.now(UTC) - timedelta(days=10)
    params = {
        "lastUpdatedAfter": _iso(since),
        "lastUpdatedBefore": _iso(until),
        "marketplaceIds": seller["marketplace_id"],
    }
    reply = get(amazon, ORDERS, params=params, headers=_headers(seller))
    body = reply.json()
    assert body["lastUpdatedBefore"] == _iso(until)
    times = [o["lastUpdatedTime"] for o in body["orders"]]
    assert times and times == sorted(times)
    assert all(_iso(since) <= t <= _iso(until) for t in times)


def test_pagination_token_belongs_to_its_query(
    amazon: httpx.Client, sellers: list[dict[str, Any]]
) -> None:
    seller = sellers[0]
    params = {
        "createdAfter": LONG_AGO,
        "marketplaceIds": seller["marketplace_id"],
        "maxResultsPerPage": "10",
    }
    first = get(amazon, ORDERS, params=params, headers=_headers(seller)).json()
    token = first["pagination"]["nextToken"]
    changed = get(
        amazon,
        ORDERS,
        params={**params, "createdAfter": "2021-01-01T00:00:00Z", "paginationToken": token},
        headers=_headers(seller),
    )
    assert changed.status_code == 400
    tampered = get(
        amazon,
        ORDERS,
        params={**params, "paginationToken": token[:-2] + "xx"},
        headers=_headers(seller),
    )
    assert tampered.status_code == 400
    # maxResultsPerPage may change between pages (orders_2026-01-01.json, Pagination)
    second = get(
        amazon,
        ORDERS,
        params={**params, "maxResultsPerPage": "3", "paginationToken": token},
        headers=_headers(seller),
    ).json()
    assert len(second["orders"]) == 3
    assert second["orders"][0]["createdTime"] >= first["orders"][-1]["createdTime"]


def test_transactions_walk_matches_truth_exactly(
    amazon: httpx.Client, sellers: list[dict[str, Any]]
) -> None:
    now = datetime.now(UTC)
    truth = amazon.get("/_sandbox/truth").json()["accounts"]
    for seller in sellers:
        txns = _transactions(amazon, seller, now)
        ids = [t["transactionId"] for t in txns]
        assert len(ids) == len(set(ids))
        expected = truth[seller["id"]]
        assert len(txns) == expected["transactions"]["count"]
        total = sum((t["totalAmount"]["currencyAmount"] for t in txns), Decimal(0))
        assert {seller["currency"]: format(total, "f")} == expected["transactions"]["sums"][
            "total_amount"
        ]
        refunds = [t for t in txns if t["transactionType"] == "Refund"]
        assert len(refunds) == expected["refund_transactions"]["count"]
        assert all(t["totalAmount"]["currencyAmount"] < 0 for t in refunds)
        kinds = Counter(t["transactionType"] for t in txns)
        assert {"Shipment", "Refund", "ServiceFee", "Transfer"} <= set(kinds)


def test_transaction_amounts_are_exact_json_numbers(
    amazon: httpx.Client, sellers: list[dict[str, Any]]
) -> None:
    for seller in sellers:
        reply = get(
            amazon,
            TXNS,
            params={"postedAfter": _iso(datetime.now(UTC) - timedelta(days=60))},
            headers=_headers(seller),
        )
        numbers = re.findall(r'"currencyAmount":(-?[0-9.eE+]+)', reply.text)
        assert numbers
        pattern = r"^-?\d+$" if seller["currency"] == "JPY" else r"^-?\d+\.\d\d$"
        assert all(re.match(pattern, n) for n in numbers), numbers[:5]
        for txn in decimal_json(reply)["payload"]["transactions"]:
            parts = sum(b["breakdownAmount"]["currencyAmount"] for b in txn["breakdowns"])
            assert parts == txn["totalAmount"]["currencyAmount"]


def test_disbursement_pays_out_its_settlement_group(
    amazon: httpx.Client, sellers: list[dict[str, Any]]
) -> None:
    seller = sellers[2]
    txns = _transactions(amazon, seller, datetime.now(UTC))
    groups: dict[str, list[dict[str, Any]]] = {}
    for txn in txns:
        ids = {
            r["relatedIdentifierName"]: r["relatedIdentifierValue"]
            for r in txn["relatedIdentifiers"]
        }
        groups.setdefault(ids["FINANCIAL_EVENT_GROUP_ID"], []).append(txn)
    closed = [g for g in groups.values() if any(t["transactionType"] == "Transfer" for t in g)]
    assert len(closed) >= 10
    for group in closed:
        assert sum(t["totalAmount"]["currencyAmount"] for t in group) == 0


def test_finance_request_rules(amazon: httpx.Client, sellers: list[dict[str, Any]]) -> None:
    headers = _headers(sellers[0])
    now = datetime.now(UTC)
    cases = [
        {},  # postedAfter is required without a related identifier
        {
            "postedAfter": _iso(now - timedelta(days=200)),
            "postedBefore": _iso(now - timedelta(days=10)),
        },
        {
            "postedAfter": _iso(now - timedelta(days=5)),
            "postedBefore": _iso(now - timedelta(seconds=20)),
        },
        {
            "postedAfter": _iso(now - timedelta(days=5)),
            "postedBefore": _iso(now - timedelta(days=6)),
        },
    ]
    for params in cases:
        reply = get(amazon, TXNS, params=params, headers=headers)
        assert reply.status_code == 400, params
        assert reply.json()["errors"][0]["code"] == "InvalidInput"
    order = get(
        amazon,
        ORDERS,
        params={
            "createdAfter": LONG_AGO,
            "marketplaceIds": sellers[0]["marketplace_id"],
            "maxResultsPerPage": "1",
        },
        headers=headers,
    ).json()["orders"][0]
    by_order = get(
        amazon,
        TXNS,
        params={"relatedIdentifierName": "ORDER_ID", "relatedIdentifierValue": order["orderId"]},
        headers=headers,
    )
    assert by_order.status_code == 200
    for txn in by_order.json()["payload"]["transactions"]:
        assert {
            "relatedIdentifierName": "ORDER_ID",
            "relatedIdentifierValue": order["orderId"],
        } in txn["relatedIdentifiers"]


def test_participations_and_rate_limit_header(
    amazon: httpx.Client, sellers: list[dict[str, Any]]
) -> None:
    reply = get(amazon, "/sellers/v1/marketplaceParticipations", headers=_headers(sellers[1]))
    assert reply.headers["x-amzn-RateLimit-Limit"] == "5"  # the sandbox usage plan
    assert reply.headers["x-amzn-RequestId"]
    (entry,) = reply.json()["payload"]
    assert entry["marketplace"]["id"] == "A1VC38T7YXB528"
    assert entry["marketplace"]["defaultCurrencyCode"] == "JPY"
    assert entry["participation"] == {"isParticipating": True, "hasSuspendedListings": False}


def test_recent_transactions_can_show_up_late(make_sandbox: StartSandbox) -> None:
    sandbox = make_sandbox(("amazon",))
    world = sandbox.world("amazon")
    world.core.settings.access_token_lifetime = 7200  # outlive the clock jump below
    with httpx.Client(base_url=sandbox.base_url("amazon")) as client:
        seller = accounts(sandbox.base_url("amazon"))[0]
        headers = {"x-amz-access-token": amazon_connect(client, seller["id"])["access_token"]}
        before = client.get("/_sandbox/truth").json()["accounts"][seller["id"]]["transactions"][
            "count"
        ]
        world.core.settings.release_delay = 3600.0
        created = client.post(
            "/_sandbox/activity", json={"account": seller["id"], "orders": 12}
        ).json()["created"]
        assert len(created) == 12
        after = {"postedAfter": _iso(datetime.now(UTC) - timedelta(hours=1))}

        def seen() -> set[str]:
            found = client.get(TXNS, params=after, headers=headers).json()["payload"][
                "transactions"
            ]
            return {
                r["relatedIdentifierValue"]
                for t in found
                for r in t["relatedIdentifiers"]
                if r["relatedIdentifierName"] == "ORDER_ID"
            }

        early = seen() & set(created)
        assert 0 < len(early) < 12  # some, not all, are held back
        truth = client.get("/_sandbox/truth").json()["accounts"][seller["id"]]["transactions"][
            "count"
        ]
        assert truth == before + len(early)
        world.core.clock.advance(3601)
        assert seen() >= set(created)
