from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from norm_helpers import ctx, expected_buyer_key, fixture

from normalizer.errors import MappingError
from normalizer.schema import (
    AccountStatus,
    DisputeOutcome,
    DisputeStatus,
    Order,
    OrderStatus,
    PayoutStatus,
    RefundStatus,
    Transaction,
    TransactionType,
)
from normalizer.stripe import (
    map_account,
    map_balance_transactions,
    map_charges,
    map_disputes,
    map_payouts,
    map_refunds,
)


def _data(name: str) -> list[dict[str, Any]]:
    return fixture("stripe", name)["data"]  # type: ignore[no-any-return]


def _charge(charge_id: str) -> dict[str, Any]:
    return next(c for c in _data("charges.json") if c["id"] == charge_id)


def _balance(txn_id: str) -> dict[str, Any]:
    return next(t for t in _data("balance_transactions.json") if t["id"] == txn_id)


def _order(raw: dict[str, Any]) -> Order:
    (order,) = map_charges(raw, ctx("stripe"))
    assert isinstance(order, Order)
    return order


# ------------------------------------------------------------------------------- charges


def test_charge_amounts_and_refunds() -> None:
    order = _order(_charge("ch_usd_partial"))
    assert (order.gross, order.net) == (Decimal("50.00"), Decimal("35.00"))
    assert order.status is OrderStatus.PARTIALLY_REFUNDED
    assert order.channel == "stripe" and order.currency == "USD"


def test_zero_decimal_jpy_500_is_500_yen() -> None:
    order = _order(_charge("ch_jpy"))
    assert (order.currency, order.gross) == ("JPY", Decimal(500))


def test_three_decimal_kwd() -> None:
    order = _order(_charge("ch_kwd_refunded"))
    assert str(order.gross) == "12.340"
    assert order.net == 0 and order.status is OrderStatus.REFUNDED


@pytest.mark.parametrize(
    ("changes", "status"),
    [({"status": "succeeded", "amount_refunded": 0, "refunded": False}, OrderStatus.PAID),
     ({"status": "succeeded", "amount_refunded": 5000, "refunded": False}, OrderStatus.REFUNDED),
     ({"status": "succeeded", "amount_refunded": 1, "refunded": False},
      OrderStatus.PARTIALLY_REFUNDED),
     ({"status": "succeeded", "captured": False, "amount_refunded": 0}, OrderStatus.PENDING),
     ({"status": "pending", "amount_refunded": 0}, OrderStatus.PENDING),
     ({"status": "failed", "amount_refunded": 0}, OrderStatus.FAILED)],
)  # fmt: skip
def test_charge_status(changes: dict[str, Any], status: OrderStatus) -> None:
    raw = _charge("ch_usd_partial") | changes
    assert _order(raw).status is status


def test_buyer_key_prefers_billing_email_then_receipt_email_then_customer() -> None:
    raw = _charge("ch_usd_partial")
    assert _order(raw).buyer_key == expected_buyer_key("hermione.granger@example.org")
    raw["billing_details"]["email"] = None
    assert _order(raw).buyer_key == expected_buyer_key("hermione.receipts@example.org")
    raw["receipt_email"] = None
    assert _order(raw).buyer_key == expected_buyer_key("cus_hermione")
    raw["customer"] = None
    assert _order(raw).buyer_key is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"id": None}, "id"), ({"amount": 50.0}, "amount"), ({"amount": "5000"}, "amount"),
     ({"currency": "xyz"}, "currency"), ({"currency": None}, "currency"),
     ({"created": 1740912330.5}, "created"), ({"status": "disputed"}, "status"),
     ({"object": "payment_intent"}, "object"), ({"amount": -100}, "orders"),
     ({"customer": 42, "billing_details": {}, "receipt_email": None}, "customer")],
)  # fmt: skip
def test_malformed_charges_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(MappingError) as caught:
        map_charges(_charge("ch_usd_partial") | changes, ctx("stripe"))
    assert str(caught.value).startswith(field)
    assert "hermione" not in str(caught.value).lower()


# ------------------------------------------------------------------ balance transactions


@pytest.mark.parametrize("raw", _data("balance_transactions.json"), ids=lambda t: t["id"])
def test_balance_rows_sum_exactly_to_net(raw: dict[str, Any]) -> None:
    rows = map_balance_transactions(raw, ctx("stripe"))
    assert all(isinstance(row, Transaction) for row in rows)
    total = sum(row.amount for row in rows if isinstance(row, Transaction))
    minor_units_per_unit = {"usd": 100, "jpy": 1}[raw["currency"]]
    assert total * minor_units_per_unit == raw["net"]


def test_fee_row_is_negative_and_keyed_by_id() -> None:
    sale, fee = map_balance_transactions(_balance("txn_charge_usd"), ctx("stripe"))
    assert isinstance(sale, Transaction) and isinstance(fee, Transaction)
    assert fee.external_id == "txn_charge_usd:fee" and fee.amount == Decimal("-1.75")
    assert sale.type is TransactionType.SALE and fee.type is TransactionType.FEE
    assert sale.related_order_external_id == "ch_usd_partial"


def test_no_fee_row_without_a_fee() -> None:
    assert len(map_balance_transactions(_balance("txn_refund_usd"), ctx("stripe"))) == 1


@pytest.mark.parametrize(
    ("kind", "category", "amount", "expected"),
    [("charge", "charge", 100, TransactionType.SALE),
     ("payment", "charge", 100, TransactionType.SALE),
     ("refund", "refund", -100, TransactionType.REFUND),
     ("adjustment", "dispute", -100, TransactionType.CHARGEBACK),
     ("adjustment", "dispute_reversal", 100, TransactionType.CHARGEBACK),
     ("adjustment", "other_adjustment", 100, TransactionType.ADJUSTMENT),
     ("adjustment", None, 100, TransactionType.ADJUSTMENT),
     ("stripe_fee", "fee", -100, TransactionType.FEE),
     ("payout", "payout", -100, TransactionType.PAYOUT),
     ("payout_failure", "payout_reversal", 100, TransactionType.PAYOUT),
     ("transfer", "transfer", -100, TransactionType.TRANSFER),
     ("topup", "topup", 100, TransactionType.TRANSFER),
     ("reserve_transaction", "risk_reserved_funds", -100, TransactionType.RESERVE_HOLD),
     ("reserve_transaction", "risk_reserved_funds", 100, TransactionType.RESERVE_RELEASE),
     ("payout_minimum_balance_hold", None, -100, TransactionType.RESERVE_HOLD),
     ("issuing_authorization_hold", "issuing_authorization_hold", -100, TransactionType.OTHER),
     (None, None, 1, TransactionType.OTHER)],
)  # fmt: skip
def test_balance_transaction_types(
    kind: str | None, category: str | None, amount: int, expected: TransactionType
) -> None:
    raw = _balance("txn_refund_usd") | {
        "type": kind, "reporting_category": category, "amount": amount, "net": amount
    }  # fmt: skip
    assert map_balance_transactions(raw, ctx("stripe"))[0].type is expected  # type: ignore[attr-defined]


def test_payout_row_links_the_payout() -> None:
    (row,) = map_balance_transactions(_balance("txn_payout_usd"), ctx("stripe"))
    assert isinstance(row, Transaction)
    assert row.related_payout_external_id == "po_usd" and row.related_order_external_id is None
    raw = _balance("txn_charge_usd") | {"payout": "po_later"}
    assert map_balance_transactions(raw, ctx("stripe"))[0].related_payout_external_id == "po_later"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"net": 4826}, "net"), ({"fee": 1.75}, "fee"), ({"status": "settled"}, "status"),
     ({"created": None}, "created"), ({"id": ""}, "id"), ({"source": 7}, "source")],
)  # fmt: skip
def test_malformed_balance_transactions(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(MappingError) as caught:
        map_balance_transactions(_balance("txn_charge_usd") | changes, ctx("stripe"))
    assert str(caught.value).startswith(field)


# ------------------------------------------------------------------ refunds, payouts, disputes


@pytest.mark.parametrize(
    ("raw_status", "status"),
    [("pending", RefundStatus.PENDING), ("requires_action", RefundStatus.PENDING),
     ("succeeded", RefundStatus.SUCCEEDED), ("failed", RefundStatus.FAILED),
     ("canceled", RefundStatus.CANCELLED)],
)  # fmt: skip
def test_refund_status(raw_status: str, status: RefundStatus) -> None:
    (refund,) = map_refunds(_data("refunds.json")[0] | {"status": raw_status}, ctx("stripe"))
    assert refund.status is status  # type: ignore[attr-defined]
    assert refund.amount == Decimal("15.00")  # type: ignore[attr-defined]  # positive magnitude


def test_refund_with_unknown_status_is_refused() -> None:
    with pytest.raises(MappingError, match=r"^status: unknown value 'weird'"):
        map_refunds(_data("refunds.json")[0] | {"status": "weird"}, ctx("stripe"))


@pytest.mark.parametrize(
    ("raw_status", "status"),
    [("paid", PayoutStatus.PAID), ("pending", PayoutStatus.PENDING),
     ("in_transit", PayoutStatus.IN_TRANSIT), ("failed", PayoutStatus.FAILED),
     ("canceled", PayoutStatus.CANCELLED)],
)  # fmt: skip
def test_payout_status(raw_status: str, status: PayoutStatus) -> None:
    (payout,) = map_payouts(_data("payouts.json")[0] | {"status": raw_status}, ctx("stripe"))
    assert payout.status is status  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("raw_status", "status", "outcome"),
    [("warning_needs_response", DisputeStatus.NEEDS_RESPONSE, None),
     ("needs_response", DisputeStatus.NEEDS_RESPONSE, None),
     ("warning_under_review", DisputeStatus.UNDER_REVIEW, None),
     ("under_review", DisputeStatus.UNDER_REVIEW, None),
     ("won", DisputeStatus.CLOSED, DisputeOutcome.WON),
     ("lost", DisputeStatus.CLOSED, DisputeOutcome.LOST),
     ("warning_closed", DisputeStatus.CLOSED, DisputeOutcome.WON),
     ("charge_refunded", DisputeStatus.CLOSED, DisputeOutcome.ACCEPTED)],
)  # fmt: skip
def test_dispute_status(
    raw_status: str, status: DisputeStatus, outcome: DisputeOutcome | None
) -> None:
    (dispute,) = map_disputes(_data("disputes.json")[0] | {"status": raw_status}, ctx("stripe"))
    assert (dispute.status, dispute.outcome) == (status, outcome)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("case_type", "outcome"),
    [("resolution", DisputeOutcome.ACCEPTED), ("block", None), (None, None)],
)
def test_a_prevented_dispute_is_closed_and_only_a_resolution_claims_an_outcome(
    case_type: str | None, outcome: DisputeOutcome | None
) -> None:
    raw = _data("disputes.json")[0] | {"status": "prevented"}
    if case_type is not None:
        raw["payment_method_details"] = {"type": "card", "card": {"case_type": case_type}}
    (dispute,) = map_disputes(raw, ctx("stripe"))
    assert dispute.status is DisputeStatus.CLOSED  # type: ignore[attr-defined]
    assert dispute.outcome is outcome  # type: ignore[attr-defined]
    assert dispute.amount > 0  # type: ignore[attr-defined]  # still counted as a dispute


# ------------------------------------------------------------------------------- account


@pytest.mark.parametrize(
    ("changes", "status"),
    [({}, AccountStatus.ACTIVE),
     ({"charges_enabled": False}, AccountStatus.RESTRICTED),
     ({"payouts_enabled": False}, AccountStatus.RESTRICTED),
     ({"requirements": {"disabled_reason": "requirements.past_due"}}, AccountStatus.RESTRICTED),
     ({"requirements": {"disabled_reason": "under_review"}}, AccountStatus.SUSPENDED),
     ({"requirements": {"disabled_reason": "rejected.fraud"}}, AccountStatus.CLOSED)],
)  # fmt: skip
def test_account_status(changes: dict[str, Any], status: AccountStatus) -> None:
    (account,) = map_account(fixture("stripe", "account.json") | changes, ctx("stripe"))
    assert account.status is status  # type: ignore[attr-defined]


def test_account_name_falls_back_to_the_dashboard_name() -> None:
    raw = fixture("stripe", "account.json") | {"business_profile": {"name": None}}
    assert map_account(raw, ctx("stripe"))[0].name == "Quill & Ink"  # type: ignore[attr-defined]


def test_the_account_object_of_another_account_is_refused() -> None:
    raw = fixture("stripe", "account.json")
    own = dataclasses.replace(ctx("stripe"), account_id=raw["id"])
    assert map_account(raw, own)[0].external_id == raw["id"]
    with pytest.raises(MappingError, match=r"^id: the record belongs to account"):
        map_account(raw, dataclasses.replace(ctx("stripe"), account_id="acct_someone_else"))
