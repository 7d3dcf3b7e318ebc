"""Map our own fixture pages and compare with hand-written golden canonical output.

Golden files hold ``canonical_to_json`` lines. A buyer key is written as
``hmac:<normalised identifier>`` and computed here with hmac directly.
"""

from __future__ import annotations

import json

import pytest
from norm_helpers import FIXTURES, ctx, expected_buyer_key

from normalizer.records import canonical_to_json, iter_raw_records
from normalizer.registry import get_mapping

CASES = [
    ("amazon", "orders", "amazon/orders_page.json", "amazon_orders.jsonl"),
    ("amazon", "orders", "amazon/orders_v0_page.json", "amazon_orders_v0.jsonl"),
    ("amazon", "transactions", "amazon/transactions_page.json", "amazon_transactions.jsonl"),
    ("amazon", "account", "amazon/marketplace_participations.json", "amazon_account.jsonl"),
    ("stripe", "charges", "stripe/charges.json", "stripe_charges.jsonl"),
    ("stripe", "balance_transactions", "stripe/balance_transactions.json",
     "stripe_balance_transactions.jsonl"),
    ("stripe", "refunds", "stripe/refunds.json", "stripe_refunds.jsonl"),
    ("stripe", "payouts", "stripe/payouts.json", "stripe_payouts.jsonl"),
    ("stripe", "disputes", "stripe/disputes.json", "stripe_disputes.jsonl"),
    ("stripe", "account", "stripe/account.json", "stripe_account.jsonl"),
]  # fmt: skip


def _golden(name: str) -> list[dict[str, object]]:
    rows = []
    for line in (FIXTURES / "golden" / name).read_text().splitlines():
        row = json.loads(line)
        key = row.get("buyer_key")
        if isinstance(key, str) and key.startswith("hmac:"):
            row["buyer_key"] = expected_buyer_key(key.removeprefix("hmac:"))
        rows.append(row)
    return rows


@pytest.mark.parametrize(("platform", "stream", "page", "golden"), CASES)
def test_mapping_matches_golden(platform: str, stream: str, page: str, golden: str) -> None:
    mapping = get_mapping(platform, stream)
    produced = [
        canonical_to_json(record)
        for raw in iter_raw_records(platform, stream, FIXTURES / page)
        for record in mapping(raw, ctx(platform))
    ]
    expected = _golden(golden)
    assert len(produced) == len(expected)
    for got, want in zip(produced, expected, strict=True):
        assert got == want, got["external_id"]
