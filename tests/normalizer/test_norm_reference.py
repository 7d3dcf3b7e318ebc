"""Map the official example payloads and the recorded Stripe/Amazon records, read in place.

Every record either maps to valid canonical records or raises MappingError with a reason; none
is dropped silently, and a reasonable share maps. Skipped when ../shared/reference is absent.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from norm_helpers import REFERENCE, ctx, load_json

from normalizer.errors import MappingError
from normalizer.pii import redact
from normalizer.records import canonical_to_json, iter_raw_records
from normalizer.registry import get_mapping
from normalizer.schema import CanonicalRecord, Transaction

SPECS = REFERENCE / "specs"
RECORDED = REFERENCE / "recorded"
STRIPE_OBJECTS = {
    "account": "account",
    "charge": "charges",
    "refund": "refunds",
    "balance_transaction": "balance_transactions",
    "payout": "payouts",
    "dispute": "disputes",
}
AIRBYTE_STRIPE_STREAMS = {
    "accounts": "account",
    "charges": "charges",
    "refunds": "refunds",
    "balance_transactions": "balance_transactions",
    "payouts": "payouts",
    "disputes": "disputes",
}

Case = tuple[str, str, str, dict[str, Any]]  # source, platform, stream, raw


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} absent")
    return path


def _static_responses(operation: dict[str, Any]) -> Iterator[Any]:
    sandbox = operation.get("responses", {}).get("200", {}).get("x-amzn-api-sandbox", {})
    for entry in sandbox.get("static", []):
        yield entry["response"]


def _amazon_cases() -> Iterator[Case]:
    models = _require(SPECS / "amazon-sp-api" / "models")
    orders = load_json(models / "orders-api-model" / "orders_2026-01-01.json")["paths"]
    search = orders["/orders/2026-01-01/orders"]["get"]["responses"]["200"]["examples"]
    for order in search["application/json"]["orders"]:
        yield "orders_2026-01-01 searchOrders example", "amazon", "orders", order
    get_one = orders["/orders/2026-01-01/orders/{orderId}"]["get"]["responses"]["200"]["examples"]
    yield (
        "orders_2026-01-01 getOrder example",
        "amazon",
        "orders",
        get_one["application/json"]["order"],
    )

    v0 = load_json(models / "orders-api-model" / "ordersV0.json")["paths"]
    for response in _static_responses(v0["/orders/v0/orders"]["get"]):
        for order in response["payload"]["Orders"]:
            yield "ordersV0 getOrders sandbox", "amazon", "orders", order

    finances = load_json(models / "finances-api-model" / "finances_2024-06-19.json")["paths"]
    for response in _static_responses(finances["/finances/2024-06-19/transactions"]["get"]):
        for transaction in response["payload"]["transactions"]:
            yield (
                "finances_2024-06-19 listTransactions sandbox",
                "amazon",
                "transactions",
                transaction,
            )

    sellers = load_json(models / "sellers-api-model" / "sellers.json")["paths"]
    for response in _static_responses(sellers["/sellers/v1/marketplaceParticipations"]["get"]):
        for participation in response["payload"]:
            yield "sellers getMarketplaceParticipations sandbox", "amazon", "account", participation

    for path in sorted((RECORDED / "amazon_sp_api").glob("*expected_records*.jsonl")):
        for raw in iter_raw_records("amazon", "orders", path):  # Airbyte "Orders" = v0 orders
            yield f"airbyte {path.name}", "amazon", "orders", raw


def _stripe_objects(node: Any) -> Iterator[dict[str, Any]]:
    """Top-level API objects of a response: a list object's data, or the object itself."""
    if isinstance(node, dict) and isinstance(node.get("data"), list):
        yield from (item for item in node["data"] if isinstance(item, dict))
    elif isinstance(node, dict):
        yield node


def _stripe_cases() -> Iterator[Case]:
    resources = load_json(_require(SPECS / "stripe" / "fixtures3.json"))["resources"]
    for name, stream in STRIPE_OBJECTS.items():
        yield "stripe fixtures3.json", "stripe", stream, resources[name]

    stripe = _require(RECORDED / "stripe")
    for path in sorted(stripe.glob("*expected_records*.jsonl")):
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            message = json.loads(line, parse_float=Decimal)
            if message["stream"] in AIRBYTE_STRIPE_STREAMS:
                stream = AIRBYTE_STRIPE_STREAMS[message["stream"]]
                yield f"airbyte {path.name}", "stripe", stream, message["data"]

    for path in sorted((stripe / "nango").glob("*.json")):
        for calls in load_json(path)["api"].values():
            for call in calls.values():
                for record in call if isinstance(call, list) else [call]:
                    for obj in _stripe_objects(record.get("response")):
                        if obj.get("object") in STRIPE_OBJECTS:
                            yield f"nango {path.name}", "stripe", STRIPE_OBJECTS[obj["object"]], obj

    for path in sorted((stripe / "estuary").glob("*.json")):
        for _collection, document in load_json(path):
            if document.get("object") in STRIPE_OBJECTS:
                stream = STRIPE_OBJECTS[document["object"]]
                yield f"estuary {path.name}", "stripe", stream, document

    for path in sorted((stripe / "unit_test_responses").glob("*.json")):
        for obj in _stripe_objects(load_json(path)):
            if obj.get("object") in STRIPE_OBJECTS:
                yield f"airbyte unit test {path.name}", "stripe", STRIPE_OBJECTS[obj["object"]], obj


def _check_records(case: Case, records: list[CanonicalRecord]) -> None:
    source, platform, stream, raw = case
    assert records, f"{source}: {stream} mapped to nothing"
    for record in records:
        assert isinstance(record, CanonicalRecord)
        json.dumps(canonical_to_json(record))
    rows = [r.amount for r in records if isinstance(r, Transaction)]
    if platform == "amazon" and stream == "transactions":
        assert sum(rows) == raw["totalAmount"]["currencyAmount"]
    if platform == "stripe" and stream == "balance_transactions" and raw.get("net") is not None:
        transaction = records[0]
        assert isinstance(transaction, Transaction)
        assert sum(rows) * 10 ** _decimals(transaction.currency) == raw["net"]
    # storing the redacted copy loses nothing the mapping needs
    stored = redact(platform, stream, raw, ctx(platform))
    assert get_mapping(platform, stream)(stored, ctx(platform)) == records


def _decimals(currency: str) -> int:
    return 0 if currency == "JPY" else 2  # the recorded data holds USD/BRL/... and no KWD


def _run(cases: list[Case]) -> tuple[Counter[str], Counter[str], list[str]]:
    mapped: Counter[str] = Counter()
    quarantined: Counter[str] = Counter()
    reasons: list[str] = []
    for case in cases:
        source, platform, stream, raw = case
        try:
            records = get_mapping(platform, stream)(raw, ctx(platform))
        except MappingError as exc:
            reason = str(exc)
            assert ": " in reason, reason  # names a field and says what is wrong
            quarantined[stream] += 1
            reasons.append(f"{source} {stream}: {reason}")
            continue
        _check_records(case, records)
        mapped[stream] += 1
    return mapped, quarantined, reasons


def test_amazon_reference_records_map_or_quarantine() -> None:
    cases = list(_amazon_cases())
    mapped, quarantined, reasons = _run(cases)
    assert sum(mapped.values()) + sum(quarantined.values()) == len(cases)
    # 2 v2026 examples, 4 v0 sandbox orders and the Airbyte orders (some cancelled ones without
    # OrderTotal): all of them map.
    assert quarantined["orders"] == 0 and mapped["orders"] >= 10
    assert mapped["account"] >= 1
    # The sandbox transaction example has no transactionId: quarantined, with the reason.
    assert reasons == [
        "finances_2024-06-19 listTransactions sandbox transactions: transactionId: missing"
    ]


def test_stripe_reference_records_map_or_quarantine() -> None:
    cases = list(_stripe_cases())
    mapped, quarantined, reasons = _run(cases)
    assert sum(mapped.values()) + sum(quarantined.values()) == len(cases)
    assert set(mapped) == set(STRIPE_OBJECTS.values())  # every stream is exercised
    assert sum(mapped.values()) >= 0.9 * len(cases), reasons
    assert len(cases) >= 80
