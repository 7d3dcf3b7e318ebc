"""Canonical schema v1: what every platform's records become.

Mappings (``normalizer/<platform>.py``) return these records. They carry only what the platform
said; the sync runner adds the ownership and lineage columns (tenant, seller, connection,
platform, raw record id, mapping version, first_seen_at) when it writes them to the warehouse.

Conventions, for every entity:

* money is ``Decimal`` with an upper-case ISO 4217 ``currency`` beside it, never float;
* times are timezone-aware UTC ``datetime``;
* ``external_id`` is the platform's id (natural key with the connection);
* ``updated_at`` is the platform's last-change time when it has one;
* signs: ``Transaction.amount`` is signed from the seller's point of view (money in > 0, money
  out < 0). Every other amount is a non-negative magnitude (a refund of 5 USD is ``5``).
* buyers are a keyed hash (``buyer_key``) plus a country, never a name, e-mail or address.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, GetCoreSchemaHandler
from pydantic_core import core_schema

SCHEMA_VERSION = 1


def _upper_iso_currency(value: str) -> str:
    if len(value) != 3 or not value.isalpha():
        raise ValueError(f"currency must be a 3-letter ISO 4217 code, got {value!r}")
    return value.upper()


class _UtcOffsetOnly:
    """Times must carry a UTC offset of zero: checked by pydantic-core itself (its datetime
    schema's ``tz_constraint``, https://docs.pydantic.dev/latest/api/pydantic_core_schema/
    #pydantic_core.core_schema.datetime_schema) rather than a Python validator called for
    every time field of every canonical row (~0.4 µs each)."""

    def __get_pydantic_core_schema__(
        self, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.datetime_schema(tz_constraint=0)


Currency = Annotated[str, AfterValidator(_upper_iso_currency)]
UtcDatetime = Annotated[datetime, _UtcOffsetOnly()]
Money = Annotated[Decimal, Field(allow_inf_nan=False)]
NonNegativeMoney = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
CountryCode = Annotated[str, Field(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$")]


class OrderStatus(enum.StrEnum):
    """One status set for every platform's orders (marketplace orders and payment charges)."""

    PENDING = "pending"  # placed, payment not yet confirmed
    OPEN = "open"  # paid, nothing shipped yet
    PARTIALLY_FULFILLED = "partially_fulfilled"
    FULFILLED = "fulfilled"  # shipped / delivered
    PAID = "paid"  # payment platforms: the charge succeeded (no fulfilment concept)
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"
    FAILED = "failed"  # payment failed / order unfulfillable


class RefundStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TransactionType(enum.StrEnum):
    SALE = "sale"
    REFUND = "refund"
    FEE = "fee"
    CHARGEBACK = "chargeback"
    ADJUSTMENT = "adjustment"
    RESERVE_HOLD = "reserve_hold"
    RESERVE_RELEASE = "reserve_release"
    PAYOUT = "payout"
    TRANSFER = "transfer"
    OTHER = "other"


class TransactionStatus(enum.StrEnum):
    PENDING = "pending"  # not yet available / deferred
    AVAILABLE = "available"  # settled in the balance


class PayoutStatus(enum.StrEnum):
    PENDING = "pending"
    IN_TRANSIT = "in_transit"
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"


class DisputeStatus(enum.StrEnum):
    NEEDS_RESPONSE = "needs_response"
    UNDER_REVIEW = "under_review"
    CLOSED = "closed"


class DisputeOutcome(enum.StrEnum):
    WON = "won"  # the seller kept the money
    LOST = "lost"  # the money went back to the buyer
    ACCEPTED = "accepted"  # the seller accepted / refunded


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    RESTRICTED = "restricted"  # e.g. suspended listings, payouts disabled
    SUSPENDED = "suspended"
    CLOSED = "closed"


class CanonicalRecord(BaseModel):
    """Fields every canonical entity has in a mapping's output."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    entity: ClassVar[str]
    external_id: Annotated[str, Field(min_length=1, max_length=255)]
    updated_at: UtcDatetime | None = None


class Account(CanonicalRecord):
    entity: ClassVar[str] = "accounts"
    name: str | None = None
    country: CountryCode | None = None
    default_currency: Currency | None = None
    opened_at: UtcDatetime | None = None
    status: AccountStatus


class Order(CanonicalRecord):
    entity: ClassVar[str] = "orders"
    placed_at: UtcDatetime
    status: OrderStatus
    channel: str
    currency: Currency
    gross: NonNegativeMoney  # what the buyer paid: items + tax + shipping - discount
    tax: NonNegativeMoney = Decimal(0)
    shipping: NonNegativeMoney = Decimal(0)
    discount: NonNegativeMoney = Decimal(0)
    net: Money  # gross less tax, less refunded amounts where the platform says them
    buyer_country: CountryCode | None = None
    buyer_key: str | None = None  # keyed hash, see normalizer.pii


class OrderLine(CanonicalRecord):
    entity: ClassVar[str] = "order_lines"
    order_external_id: str
    sku: str | None = None
    title: str | None = None
    quantity: Annotated[int, Field(ge=0)]
    currency: Currency
    unit_price: NonNegativeMoney
    line_total: NonNegativeMoney


class Refund(CanonicalRecord):
    entity: ClassVar[str] = "refunds"
    order_external_id: str | None = None
    created_at: UtcDatetime
    currency: Currency
    amount: NonNegativeMoney
    reason: str | None = None
    status: RefundStatus


class Transaction(CanonicalRecord):
    entity: ClassVar[str] = "transactions"
    type: TransactionType
    occurred_at: UtcDatetime
    currency: Currency
    amount: Money  # signed, seller's point of view
    status: TransactionStatus = TransactionStatus.AVAILABLE
    description: str | None = None
    related_order_external_id: str | None = None
    related_payout_external_id: str | None = None


class Payout(CanonicalRecord):
    entity: ClassVar[str] = "payouts"
    created_at: UtcDatetime
    arrival_date: date | None = None
    currency: Currency
    amount: NonNegativeMoney
    status: PayoutStatus
    period_start: UtcDatetime | None = None
    period_end: UtcDatetime | None = None


class Dispute(CanonicalRecord):
    entity: ClassVar[str] = "disputes"
    opened_at: UtcDatetime
    currency: Currency
    amount: NonNegativeMoney
    reason: str | None = None
    status: DisputeStatus
    outcome: DisputeOutcome | None = None
    related_order_external_id: str | None = None
    related_charge_external_id: str | None = None


ENTITY_MODELS: dict[str, type[CanonicalRecord]] = {
    model.entity: model
    for model in (Account, Order, OrderLine, Refund, Transaction, Payout, Dispute)
}

EntityName = Literal[
    "accounts", "orders", "order_lines", "refunds", "transactions", "payouts", "disputes"
]
