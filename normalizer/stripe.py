"""Stripe API objects -> canonical records.

Streams: ``account``, ``charges``, ``refunds``, ``balance_transactions``, ``payouts``,
``disputes`` (one API object each). Amounts are integers in Stripe's smallest unit, which
follows Stripe's own zero-decimal list, not ISO 4217 (https://docs.stripe.com/currencies);
currencies arrive lower-case; times are unix seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from normalizer.context import MappingContext
from normalizer.errors import MappingError
from normalizer.money import from_stripe_minor_units, normalize_currency
from normalizer.pii import buyer_key
from normalizer.raw import (
    country_code,
    ensure_record,
    get,
    lookup,
    optional_bool,
    optional_list,
    optional_str,
    require_own_account,
    require_str,
)
from normalizer.records import build
from normalizer.schema import (
    Account,
    AccountStatus,
    CanonicalRecord,
    Dispute,
    DisputeOutcome,
    DisputeStatus,
    Order,
    OrderStatus,
    Payout,
    PayoutStatus,
    Refund,
    RefundStatus,
    Transaction,
    TransactionStatus,
    TransactionType,
)
from normalizer.timeutil import from_unix_seconds, unix_seconds_to_date

PLATFORM = "stripe"
ZERO = Decimal(0)


def _expect_object(record: Mapping[str, Any], expected: str) -> None:
    found = record.get("object")
    if found is not None and found != expected:
        raise MappingError(f"object: expected {expected!r}, got {str(found)[:40]!r}")


def _currency(record: Mapping[str, Any]) -> str:
    return normalize_currency(record.get("currency"), "currency")


def _amount(record: Mapping[str, Any], field: str, currency: str) -> Decimal:
    return from_stripe_minor_units(record.get(field), currency, field)


def _expandable_id(value: object, field: str) -> str | None:
    """An expandable field: an id string, or the expanded object with its ``id``."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"]).strip() or None
    raise MappingError(f"{field}: must be an id or an object with an id")


# ------------------------------------------------------------------------------- account


def _account_status(record: Mapping[str, Any]) -> AccountStatus:
    """From ``requirements.disabled_reason`` and the two capability flags.

    https://docs.stripe.com/api/accounts/object#account_object-requirements-disabled_reason
    """
    reason = optional_str(record, "requirements.disabled_reason") or ""
    if reason.startswith("rejected"):
        return AccountStatus.CLOSED
    if reason in {"listed", "platform_paused", "under_review"}:
        return AccountStatus.SUSPENDED
    charges = optional_bool(record, "charges_enabled")
    payouts = optional_bool(record, "payouts_enabled")
    if reason or charges is False or payouts is False:
        return AccountStatus.RESTRICTED
    return AccountStatus.ACTIVE


def map_account(raw: dict[str, Any], ctx: MappingContext) -> list[CanonicalRecord]:
    record = ensure_record(raw)
    _expect_object(record, "account")
    require_own_account(record.get("id"), "id", ctx.account_id)  # GET /v1/account: its own
    created = record.get("created")
    currency = optional_str(record, "default_currency")
    account = build(
        Account,
        external_id=require_str(record, "id"),
        name=(
            optional_str(record, "business_profile.name")
            or optional_str(record, "settings.dashboard.display_name")
            or optional_str(record, "company.name")
        ),
        country=country_code(record.get("country"), "country"),
        default_currency=normalize_currency(currency, "default_currency") if currency else None,
        opened_at=None if created is None else from_unix_seconds(created, "created"),
        status=_account_status(record),
    )
    return [account]


# ------------------------------------------------------------------------------- charges

_CHARGE_STATUS = {
    "succeeded": OrderStatus.PAID,
    "pending": OrderStatus.PENDING,
    "failed": OrderStatus.FAILED,
}


def map_charges(raw: dict[str, Any], ctx: MappingContext) -> list[CanonicalRecord]:
    """A charge is a payment-platform order: gross = amount, net = amount - amount_refunded.

    A succeeded but uncaptured charge (``captured: false``) is only an authorisation: pending.
    https://docs.stripe.com/api/charges/object
    """
    record = ensure_record(raw)
    _expect_object(record, "charge")
    charge_id = require_str(record, "id")
    currency = _currency(record)
    amount = _amount(record, "amount", currency)
    refunded = (
        ZERO
        if record.get("amount_refunded") is None
        else _amount(record, "amount_refunded", currency)
    )
    status = lookup(_CHARGE_STATUS, record.get("status"), "status")
    if status is OrderStatus.PAID:
        if optional_bool(record, "captured") is False:
            status = OrderStatus.PENDING
        elif (amount > 0 and refunded >= amount) or optional_bool(record, "refunded"):
            status = OrderStatus.REFUNDED
        elif refunded > 0:
            status = OrderStatus.PARTIALLY_REFUNDED
    identifier = (
        optional_str(record, "billing_details.email")
        or optional_str(record, "receipt_email")
        or _expandable_id(record.get("customer"), "customer")
    )
    order = build(
        Order,
        external_id=charge_id,
        placed_at=from_unix_seconds(record.get("created"), "created"),
        status=status,
        channel="stripe",
        currency=currency,
        gross=amount,
        net=amount - refunded,
        buyer_country=country_code(
            get(record, "billing_details.address.country"), "billing_details.address.country"
        ),
        buyer_key=buyer_key(ctx, identifier) if identifier else None,
    )
    return [order]


# ------------------------------------------------------------------------------- refunds

# https://docs.stripe.com/api/refunds/object#refund_object-status
_REFUND_STATUS = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELLED,
}


def map_refunds(raw: dict[str, Any], ctx: MappingContext) -> list[CanonicalRecord]:
    record = ensure_record(raw)
    _expect_object(record, "refund")
    currency = _currency(record)
    refund = build(
        Refund,
        external_id=require_str(record, "id"),
        order_external_id=_expandable_id(record.get("charge"), "charge"),
        created_at=from_unix_seconds(record.get("created"), "created"),
        currency=currency,
        amount=_amount(record, "amount", currency),
        reason=optional_str(record, "reason"),
        status=lookup(_REFUND_STATUS, record.get("status"), "status"),
    )
    return [refund]


# -------------------------------------------------------------------- balance transactions

# https://docs.stripe.com/api/balance_transactions/object#balance_transaction_object-type
_BALANCE_TYPES = {
    "charge": TransactionType.SALE,
    "payment": TransactionType.SALE,
    "refund": TransactionType.REFUND,
    "payment_refund": TransactionType.REFUND,
    "refund_failure": TransactionType.REFUND,
    "payment_failure_refund": TransactionType.REFUND,
    "payment_reversal": TransactionType.CHARGEBACK,
    "application_fee": TransactionType.FEE,
    "application_fee_refund": TransactionType.FEE,
    "stripe_fee": TransactionType.FEE,
    "stripe_fx_fee": TransactionType.FEE,
    "tax_fee": TransactionType.FEE,
    "payout": TransactionType.PAYOUT,
    "payout_cancel": TransactionType.PAYOUT,
    "payout_failure": TransactionType.PAYOUT,
    "payout_minimum_balance_hold": TransactionType.RESERVE_HOLD,
    "payout_minimum_balance_release": TransactionType.RESERVE_RELEASE,
    "payment_network_reserve_hold": TransactionType.RESERVE_HOLD,
    "payment_network_reserve_release": TransactionType.RESERVE_RELEASE,
    "transfer": TransactionType.TRANSFER,
    "transfer_cancel": TransactionType.TRANSFER,
    "transfer_failure": TransactionType.TRANSFER,
    "transfer_refund": TransactionType.TRANSFER,
    "connect_collection_transfer": TransactionType.TRANSFER,
    "topup": TransactionType.TRANSFER,
    "topup_reversal": TransactionType.TRANSFER,
}
# Reserve movements whose direction is the sign: money out of the balance is a hold.
_RESERVE_TYPES = {"reserve_transaction", "reserved_funds"}
_RESERVE_CATEGORIES = {"risk_reserved_funds", "connect_reserved_funds"}
# Used when ``type`` is generic (``adjustment``) or unknown.
# https://docs.stripe.com/reports/reporting-categories
_REPORTING_CATEGORIES = {
    "charge": TransactionType.SALE,
    "refund": TransactionType.REFUND,
    "refund_failure": TransactionType.REFUND,
    "fee": TransactionType.FEE,
    "network_cost": TransactionType.FEE,
    "tax": TransactionType.FEE,
    "dispute": TransactionType.CHARGEBACK,
    "dispute_reversal": TransactionType.CHARGEBACK,
    "payout": TransactionType.PAYOUT,
    "payout_reversal": TransactionType.PAYOUT,
    "transfer": TransactionType.TRANSFER,
    "transfer_reversal": TransactionType.TRANSFER,
    "topup": TransactionType.TRANSFER,
    "topup_reversal": TransactionType.TRANSFER,
    "other_adjustment": TransactionType.ADJUSTMENT,
    "partial_capture_reversal": TransactionType.ADJUSTMENT,
    "charge_failure": TransactionType.ADJUSTMENT,
}
_BALANCE_STATUS = {"pending": TransactionStatus.PENDING, "available": TransactionStatus.AVAILABLE}


def _balance_type(kind: str | None, category: str | None, amount: Decimal) -> TransactionType:
    if kind in _BALANCE_TYPES:
        return _BALANCE_TYPES[kind]
    if kind in _RESERVE_TYPES or category in _RESERVE_CATEGORIES:
        return TransactionType.RESERVE_HOLD if amount < 0 else TransactionType.RESERVE_RELEASE
    if category in _REPORTING_CATEGORIES:
        return _REPORTING_CATEGORIES[category]
    if kind == "adjustment":
        return TransactionType.ADJUSTMENT
    return TransactionType.OTHER


def map_balance_transactions(raw: dict[str, Any], ctx: MappingContext) -> list[CanonicalRecord]:
    """One balance transaction -> its movement, plus a FEE row when Stripe took a fee.

    ``amount`` is already signed from the account's side; ``fee`` is positive and
    ``net = amount - fee``, so the rows (amount, -fee) sum exactly to ``net``.
    https://docs.stripe.com/api/balance_transactions/object
    """
    record = ensure_record(raw)
    _expect_object(record, "balance_transaction")
    transaction_id = require_str(record, "id")
    currency = _currency(record)
    amount = _amount(record, "amount", currency)
    fee = ZERO if record.get("fee") is None else _amount(record, "fee", currency)
    if record.get("net") is not None and _amount(record, "net", currency) != amount - fee:
        raise MappingError("net: differs from amount - fee")
    kind = optional_str(record, "type")
    category = optional_str(record, "reporting_category")
    source = _expandable_id(record.get("source"), "source")
    payout = _expandable_id(record.get("payout"), "payout")
    if payout is None and source is not None and source.startswith("po_"):
        payout = source
    order = source if source is not None and source.startswith(("ch_", "py_")) else None
    common: dict[str, Any] = {
        "occurred_at": from_unix_seconds(record.get("created"), "created"),
        "currency": currency,
        "status": lookup(_BALANCE_STATUS, record.get("status"), "status"),
        "related_order_external_id": order,
        "related_payout_external_id": payout,
    }
    rows: list[CanonicalRecord] = [
        build(
            Transaction,
            external_id=transaction_id,
            type=_balance_type(kind, category, amount),
            amount=amount,
            description=optional_str(record, "description") or kind,
            **common,
        )
    ]
    if fee:
        details = [
            str(detail["description"])
            for detail in optional_list(record, "fee_details")
            if isinstance(detail, Mapping) and isinstance(detail.get("description"), str)
        ]
        rows.append(
            build(
                Transaction,
                external_id=f"{transaction_id}:fee",
                type=TransactionType.FEE,
                amount=-fee,
                description="; ".join(details) or "Stripe fees",
                **common,
            )
        )
    return rows


# ------------------------------------------------------------------------------- payouts

# https://docs.stripe.com/api/payouts/object#payout_object-status
_PAYOUT_STATUS = {
    "paid": PayoutStatus.PAID,
    "pending": PayoutStatus.PENDING,
    "in_transit": PayoutStatus.IN_TRANSIT,
    "failed": PayoutStatus.FAILED,
    "canceled": PayoutStatus.CANCELLED,
}


def map_payouts(raw: dict[str, Any], ctx: MappingContext) -> list[CanonicalRecord]:
    record = ensure_record(raw)
    _expect_object(record, "payout")
    currency = _currency(record)
    arrival = record.get("arrival_date")
    payout = build(
        Payout,
        external_id=require_str(record, "id"),
        created_at=from_unix_seconds(record.get("created"), "created"),
        arrival_date=None if arrival is None else unix_seconds_to_date(arrival, "arrival_date"),
        currency=currency,
        amount=_amount(record, "amount", currency),
        status=lookup(_PAYOUT_STATUS, record.get("status"), "status"),
    )
    return [payout]


# ------------------------------------------------------------------------------ disputes

# warning_* statuses are inquiries (no money moved yet); warning_closed means the inquiry ended
# without a chargeback, so the seller kept the money. charge_refunded: the seller refunded.
# https://docs.stripe.com/api/disputes/object#dispute_object-status
_DISPUTE_STATUS: dict[str, tuple[DisputeStatus, DisputeOutcome | None]] = {
    "warning_needs_response": (DisputeStatus.NEEDS_RESPONSE, None),
    "needs_response": (DisputeStatus.NEEDS_RESPONSE, None),
    "warning_under_review": (DisputeStatus.UNDER_REVIEW, None),
    "under_review": (DisputeStatus.UNDER_REVIEW, None),
    "warning_closed": (DisputeStatus.CLOSED, DisputeOutcome.WON),
    "won": (DisputeStatus.CLOSED, DisputeOutcome.WON),
    "lost": (DisputeStatus.CLOSED, DisputeOutcome.LOST),
    "charge_refunded": (DisputeStatus.CLOSED, DisputeOutcome.ACCEPTED),
    # stopped before it became a chargeback (API 2025-08-27.basil); the outcome depends on how:
    # see _prevented_outcome
    "prevented": (DisputeStatus.CLOSED, None),
}


def _prevented_outcome(record: Mapping[str, Any]) -> DisputeOutcome | None:
    """A prevented dispute of card case type ``resolution`` was settled by refunding the buyer
    (Visa Rapid Dispute Resolution), which is what ACCEPTED records. For ``block`` or no case
    type, Stripe does not say whether money moved, so no outcome is claimed.
    https://docs.stripe.com/changelog/basil/2025-08-27/add-preventions-to-dispute"""
    case_type = get(record, "payment_method_details.card.case_type")
    return DisputeOutcome.ACCEPTED if case_type == "resolution" else None


def map_disputes(raw: dict[str, Any], ctx: MappingContext) -> list[CanonicalRecord]:
    record = ensure_record(raw)
    _expect_object(record, "dispute")
    currency = _currency(record)
    status, outcome = lookup(_DISPUTE_STATUS, record.get("status"), "status")
    if record.get("status") == "prevented":
        outcome = _prevented_outcome(record)
    charge = _expandable_id(record.get("charge"), "charge")
    dispute = build(
        Dispute,
        external_id=require_str(record, "id"),
        opened_at=from_unix_seconds(record.get("created"), "created"),
        currency=currency,
        amount=_amount(record, "amount", currency),
        reason=optional_str(record, "reason"),
        status=status,
        outcome=outcome,
        related_order_external_id=charge,  # a Stripe order is its charge
        related_charge_external_id=charge,
    )
    return [dispute]


MAPPINGS = {
    "account": map_account,
    "charges": map_charges,
    "refunds": map_refunds,
    "balance_transactions": map_balance_transactions,
    "payouts": map_payouts,
    "disputes": map_disputes,
}
