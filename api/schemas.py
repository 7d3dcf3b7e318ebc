"""Response models of the scoring API: what ``/openapi.json`` promises and every response keeps.

Money is a JSON string holding the exact decimal (``"12.30"``, never ``1E+1`` and never a float);
times are RFC 3339 in UTC with ``Z``; dates are ``YYYY-MM-DD``. Statuses use the canonical sets of
``normalizer.schema`` (see docs/schema.md).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from normalizer.schema import (
    AccountStatus,
    DisputeOutcome,
    DisputeStatus,
    OrderStatus,
    PayoutStatus,
    RefundStatus,
    TransactionStatus,
    TransactionType,
)

DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def decimal_text(value: Decimal) -> str:
    """Plain decimal text: ``Decimal("1E+2")`` is ``"100"``, ``Decimal("12.30")`` stays."""
    return format(value, "f")


def rfc3339(value: datetime) -> str:
    """UTC with ``Z``; a fraction only when there is one."""
    if value.tzinfo is None:  # the warehouse stores UTC; a driver may hand it back naive
        value = value.replace(tzinfo=UTC)
    text = value.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


DecimalString = Annotated[
    Decimal,
    PlainSerializer(decimal_text, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN, "examples": ["12.30"]}),
]
UtcTime = Annotated[
    datetime,
    PlainSerializer(rfc3339, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2024-01-02T03:04:05Z"]}),
]
Ratio = Annotated[
    Decimal,
    PlainSerializer(decimal_text, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN, "examples": ["0.0125"]}),
]


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --------------------------------------------------------------------------- errors


class ErrorDetail(ApiModel):
    code: str
    message: str


class ErrorBody(ApiModel):
    """The one error shape of the whole API, for every 4xx."""

    error: ErrorDetail


# --------------------------------------------------------------------------- sellers


class SellerItem(ApiModel):
    id: str
    reference: str
    name: str
    created_at: UtcTime


class SellerList(ApiModel):
    data: list[SellerItem]


class ConnectionItem(ApiModel):
    """A connection with its sync health (fresh, stale, failing, reauth_required, ...)."""

    id: str
    seller_id: str
    platform: str
    environment: str
    platform_account_id: str
    status: str
    health: str
    last_success: UtcTime | None
    last_error: str | None
    counts: dict[str, int]
    quarantined: int
    mapping_up_to_date: bool = Field(
        description="false while some canonical rows predate the platform's current mapping "
        "version (until `sellerhub renormalize` runs)"
    )


class ConnectionList(ApiModel):
    data: list[ConnectionItem]


# --------------------------------------------------------------------------- canonical entities


class CanonicalItem(ApiModel):
    """Columns every canonical row carries: ownership and lineage of the version shown."""

    external_id: str
    seller_id: str
    connection_id: str
    platform: str
    version: int
    raw_id: int | None
    mapping_version: int
    valid_from: UtcTime
    updated_at: UtcTime | None = None


class AccountItem(CanonicalItem):
    name: str | None = None
    country: str | None = None
    default_currency: str | None = None
    opened_at: UtcTime | None = None
    status: AccountStatus


class OrderItem(CanonicalItem):
    placed_at: UtcTime
    status: OrderStatus
    channel: str
    currency: str
    gross: DecimalString
    tax: DecimalString
    shipping: DecimalString
    discount: DecimalString
    net: DecimalString
    buyer_country: str | None = None
    buyer_key: str | None = None


class OrderLineItem(CanonicalItem):
    order_external_id: str
    sku: str | None = None
    title: str | None = None
    quantity: int
    currency: str
    unit_price: DecimalString
    line_total: DecimalString


class RefundItem(CanonicalItem):
    order_external_id: str | None = None
    created_at: UtcTime
    currency: str
    amount: DecimalString
    reason: str | None = None
    status: RefundStatus


class TransactionItem(CanonicalItem):
    type: TransactionType
    occurred_at: UtcTime
    currency: str
    amount: DecimalString
    status: TransactionStatus
    description: str | None = None
    related_order_external_id: str | None = None
    related_payout_external_id: str | None = None


class PayoutItem(CanonicalItem):
    created_at: UtcTime
    arrival_date: date | None = None
    currency: str
    amount: DecimalString
    status: PayoutStatus
    period_start: UtcTime | None = None
    period_end: UtcTime | None = None


class DisputeItem(CanonicalItem):
    opened_at: UtcTime
    currency: str
    amount: DecimalString
    reason: str | None = None
    status: DisputeStatus
    outcome: DisputeOutcome | None = None
    related_order_external_id: str | None = None
    related_charge_external_id: str | None = None


ENTITY_ITEMS: dict[str, type[CanonicalItem]] = {
    "accounts": AccountItem,
    "orders": OrderItem,
    "order_lines": OrderLineItem,
    "refunds": RefundItem,
    "transactions": TransactionItem,
    "payouts": PayoutItem,
    "disputes": DisputeItem,
}

ItemT = TypeVar("ItemT", bound=CanonicalItem)


class Page(ApiModel, Generic[ItemT]):
    """One page of rows; pass ``next_cursor`` as ``cursor`` for the next (null: no more)."""

    data: list[ItemT]
    next_cursor: str | None


# --------------------------------------------------------------------------- lineage


class LineageVersion(ApiModel):
    """One version of the row: its content then, where it came from, and when it was current."""

    version: int
    content: dict[str, Any]
    content_hash: str
    raw_id: int | None
    run_id: int | None
    mapping_version: int
    valid_from: UtcTime
    valid_to: UtcTime | None


class LineageRaw(ApiModel):
    """The platform's record as fetched and stored (buyer PII removed)."""

    id: int
    stream: str
    payload: dict[str, Any]
    payload_hash: str
    fetched_at: UtcTime
    run_id: int | None


class LineageConnector(ApiModel):
    platform: str
    stream: str | None


class LineageRun(ApiModel):
    id: int
    stream: str
    trigger: str
    status: str
    started_at: UtcTime
    finished_at: UtcTime | None


class Lineage(ApiModel):
    """Where a canonical row came from: raw record, sync run, connector, mapping, versions."""

    entity: str
    external_id: str
    seller_id: str
    connection_id: str
    platform: str
    version: int
    mapping_version: int
    first_seen_at: UtcTime
    recorded_at: UtcTime
    current: dict[str, Any]
    raw_record: LineageRaw | None
    connector: LineageConnector
    sync_run: LineageRun | None
    versions: list[LineageVersion]


# --------------------------------------------------------------------------- metrics


class MetricFigures(ApiModel):
    """Figures of a day or a window, in the tenant's reporting currency (docs/metrics.md)."""

    currency: str
    gross_sales: DecimalString
    orders: int
    units: int
    order_gross: DecimalString
    refunds: DecimalString
    refund_rate: Ratio | None
    fees: DecimalString
    net_sales: DecimalString
    payouts: DecimalString
    disputes: int
    dispute_amount: DecimalString
    dispute_rate: Ratio | None
    average_order_value: DecimalString | None
    unconverted: int


class DailyMetricItem(MetricFigures):
    seller_id: str
    platform: str  # a platform name, or "all" for the seller's total
    day: date
    updated_at: UtcTime


class DailyMetricList(ApiModel):
    data: list[DailyMetricItem]


class RollingMetrics(MetricFigures):
    seller_id: str
    platform: str
    window_days: int
    start: date
    end: date
    days_with_activity: int
