"""Stripe emulator: list envelopes, cursors, created filters, money and links between objects."""

from __future__ import annotations

import itertools
from collections import defaultdict
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.server import RunningSandbox
from tests.sandbox.helpers import accounts, get, stripe_connect, stripe_walk

LISTS = ("charges", "refunds", "balance_transactions", "payouts", "disputes")
ZERO_DECIMAL = {"jpy"}


@pytest.fixture(scope="module")
def connected(shared_sandbox: RunningSandbox) -> list[dict[str, Any]]:
    base = shared_sandbox.base_url("stripe")
    with httpx.Client(base_url=base) as client:
        tokens = {
            a["id"]: stripe_connect(client, str(a["id"]))["access_token"] for a in accounts(base)
        }
    return [
        {**a, "headers": {"Authorization": f"Bearer {tokens[a['id']]}"}} for a in accounts(base)
    ]


def _client(stripe: httpx.Client, account: dict[str, Any]) -> httpx.Client:
    headers = account["headers"]
    assert isinstance(headers, dict)
    stripe.headers.update(headers)
    return stripe


def _major(units: int, currency: str) -> Decimal:
    return Decimal(units) if currency in ZERO_DECIMAL else Decimal(units) / 100


def test_default_page_is_ten_newest_first(
    stripe: httpx.Client, connected: list[dict[str, Any]]
) -> None:
    body = get(_client(stripe, connected[0]), "/v1/charges").json()
    assert body["object"] == "list" and body["url"] == "/v1/charges" and body["has_more"] is True
    created = [c["created"] for c in body["data"]]
    assert len(created) == 10 and created == sorted(created, reverse=True)


def test_walks_match_truth_for_every_list(
    stripe: httpx.Client, connected: list[dict[str, Any]]
) -> None:
    truth = stripe.get("/_sandbox/truth").json()["accounts"]
    fields = {
        "charges": ("amount",),
        "refunds": ("amount",),
        "payouts": ("amount",),
        "disputes": ("amount",),
        "balance_transactions": ("amount", "fee", "net"),
    }
    for account in connected:
        client = _client(stripe, account)
        expected = truth[account["id"]]
        for kind in LISTS:
            items = list(stripe_walk(client, f"/v1/{kind}"))
            ids = [i["id"] for i in items]
            assert len(ids) == len(set(ids)), kind
            assert [i["created"] for i in items] == sorted(
                (i["created"] for i in items), reverse=True
            )
            assert len(items) == expected[kind]["count"], kind
            for field in fields[kind]:
                sums: dict[str, Decimal] = defaultdict(Decimal)
                for item in items:
                    sums[item["currency"].upper()] += _major(item[field], item["currency"])
                want = {c: Decimal(v) for c, v in expected[kind]["sums"][field].items()}
                assert dict(sums) == want, (kind, field)
        assert expected["account"]["count"] == 1


def test_ending_before_walks_back_to_the_same_items(
    stripe: httpx.Client, connected: list[dict[str, Any]]
) -> None:
    client = _client(stripe, connected[1])
    first = get(client, "/v1/charges", params={"limit": "5"}).json()["data"]
    second = get(
        client, "/v1/charges", params={"limit": "5", "starting_after": first[-1]["id"]}
    ).json()
    back = get(
        client, "/v1/charges", params={"limit": "5", "ending_before": second["data"][0]["id"]}
    ).json()
    assert [c["id"] for c in back["data"]] == [c["id"] for c in first]
    assert back["has_more"] is False


def test_created_filters_bound_the_window(
    stripe: httpx.Client, connected: list[dict[str, Any]]
) -> None:
    client = _client(stripe, connected[2])
    everything = list(stripe_walk(client, "/v1/balance_transactions"))
    middle = sorted(i["created"] for i in everything)[len(everything) // 2]
    newer = list(stripe_walk(client, "/v1/balance_transactions", **{"created[gte]": str(middle)}))
    older = list(stripe_walk(client, "/v1/balance_transactions", **{"created[lt]": str(middle)}))
    assert all(i["created"] >= middle for i in newer) and all(i["created"] < middle for i in older)
    assert len(newer) + len(older) == len(everything)
    exact = get(client, "/v1/balance_transactions", params={"created": str(middle)}).json()["data"]
    assert exact and all(i["created"] == middle for i in exact)


def test_limit_bounds_and_bad_cursor(stripe: httpx.Client, connected: list[dict[str, Any]]) -> None:
    client = _client(stripe, connected[0])
    for params in ({"limit": "0"}, {"limit": "101"}, {"limit": "ten"}):
        reply = get(client, "/v1/refunds", params=params)
        assert reply.status_code == 400 and reply.json()["error"]["param"] == "limit"
    reply = get(client, "/v1/refunds", params={"starting_after": "re_nope"})
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "resource_missing"


def test_balance_transactions_add_up(stripe: httpx.Client, connected: list[dict[str, Any]]) -> None:
    for account in connected:
        client = _client(stripe, account)
        by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for bt in stripe_walk(client, "/v1/balance_transactions"):
            assert bt["net"] == bt["amount"] - bt["fee"]
            assert bt["fee"] == sum(f["amount"] for f in bt["fee_details"])
            assert bt["currency"] == bt["currency"].lower()
            by_type[str(bt["type"])].append(bt)
        assert {"charge", "refund", "payout", "adjustment", "stripe_fee"} <= set(by_type)
        assert all(bt["amount"] > 0 and bt["fee"] > 0 for bt in by_type["charge"])
        assert all(
            bt["amount"] < 0 for t in ("refund", "payout", "stripe_fee") for bt in by_type[t]
        )


def test_payouts_every_two_weeks_settle_their_transactions(
    stripe: httpx.Client, connected: list[dict[str, Any]]
) -> None:
    client = _client(stripe, connected[0])
    payouts = list(stripe_walk(client, "/v1/payouts"))
    assert len(payouts) >= 12
    gaps = {a["created"] - b["created"] for a, b in itertools.pairwise(payouts)}
    assert gaps == {14 * 86_400}
    for payout in payouts[:3]:
        assert payout["arrival_date"] > payout["created"] and payout["status"] in (
            "paid",
            "in_transit",
        )
        settled = list(stripe_walk(client, "/v1/balance_transactions", payout=payout["id"]))
        assert sum(bt["net"] for bt in settled) == 0  # the payout's own -amount balances them
        assert any(
            bt["source"] == payout["id"] and bt["amount"] == -payout["amount"] for bt in settled
        )


def test_refunds_and_disputes_point_at_their_charges(
    stripe: httpx.Client, connected: list[dict[str, Any]]
) -> None:
    for account in connected:
        client = _client(stripe, account)
        charges = {c["id"]: c for c in stripe_walk(client, "/v1/charges")}
        disputes = list(stripe_walk(client, "/v1/disputes"))
        assert disputes, "every seeded account has a dispute"
        for dispute in disputes:
            charge = charges[dispute["charge"]]
            assert charge["disputed"] is True and dispute["amount"] == charge["amount"]
            assert dispute["balance_transactions"][0]["amount"] == -dispute["amount"]
        for refund in stripe_walk(client, "/v1/refunds"):
            charge = charges[refund["charge"]]
            assert refund["id"] in {r["id"] for r in charge["refunds"]["data"]}
            assert (
                charge["amount_refunded"] >= refund["amount"]
                and refund["created"] >= charge["created"]
            )
        sample = next(iter(charges.values()))
        assert sample["billing_details"]["name"] and "@" in sample["receipt_email"]


def test_zero_decimal_currency_has_whole_yen(
    stripe: httpx.Client, connected: list[dict[str, Any]]
) -> None:
    jpy = next(a for a in connected if a["currency"] == "JPY")
    charges = get(_client(stripe, jpy), "/v1/charges", params={"limit": "100"}).json()["data"]
    assert all(c["currency"] == "jpy" and c["amount"] % 10 == 0 for c in charges)
    truth = stripe.get("/_sandbox/truth").json()["accounts"][jpy["id"]]
    assert "." not in truth["charges"]["sums"]["amount"]["JPY"]


def test_retrieve_one_object(stripe: httpx.Client, connected: list[dict[str, Any]]) -> None:
    client = _client(stripe, connected[0])
    charge = get(client, "/v1/charges", params={"limit": "1"}).json()["data"][0]
    assert get(client, f"/v1/charges/{charge['id']}").json() == charge
    missing = get(client, "/v1/charges/ch_missing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "resource_missing"
    other = get(client, "/v1/charges", headers={"Stripe-Account": str(connected[1]["id"])})
    assert other.status_code == 403
