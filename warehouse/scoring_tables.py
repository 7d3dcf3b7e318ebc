"""Tables for scoring: amounts in the reporting currency, daily seller metrics, dirty buckets.

* ``fx_amounts``: every money field of every canonical row, also in the tenant's reporting
  currency, with the ECB rate and the ECB date actually used (see ``warehouse.fx``);
* ``daily_metrics``: one row per (tenant, seller, platform or ``all``, UTC day), in the
  reporting currency (definitions: ``docs/metrics.md``);
* ``metrics_dirty``: the (seller, platform, day) buckets a write touched and that
  ``warehouse.metrics.refresh`` has not recomputed yet. ``seq`` grows on every new mark, so a
  refresh only clears the marks it has seen.

The indexes at the end serve the per-bucket reads of the canonical tables (seller, platform and
the entity's time field), so a refresh reads only the days it recomputes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from warehouse.tables import (
    DisputeRow,
    OrderRow,
    PayoutRow,
    RefundRow,
    TransactionRow,
    table_of,
    utcnow,
)
from warehouse.types import ExactDecimal


def _money(nullable: bool = False) -> Any:
    return Field(sa_type=ExactDecimal, nullable=nullable)


class FxAmount(SQLModel, table=True):
    """One money field of one canonical row, converted to the tenant's reporting currency."""

    __tablename__ = "fx_amounts"
    __table_args__ = (
        UniqueConstraint("entity", "connection_id", "external_id", "field", name="uq_fx_amounts"),
        Index("ix_fx_amounts_bucket", "tenant_id", "seller_id", "platform", "day"),
    )
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(max_length=64)
    seller_id: str = Field(max_length=64)
    connection_id: str = Field(max_length=64)
    platform: str = Field(max_length=32)
    entity: str = Field(max_length=32)
    external_id: str = Field(max_length=255)
    field: str = Field(max_length=32)
    day: date  # the UTC day of the amount, whose ECB rate applies
    currency: str = Field(max_length=3)
    amount: Decimal = _money()
    reporting_currency: str = Field(max_length=3)
    # reporting units per unit of ``currency``; null when the ECB does not quote the currency
    rate: Decimal | None = _money(nullable=True)
    rate_date: date | None = None  # the ECB publication day actually used
    rate_source: str = Field(max_length=64)
    reporting_amount: Decimal | None = _money(nullable=True)
    canonical_version: int
    converted_at: datetime = Field(default_factory=utcnow)


class DailyMetric(SQLModel, table=True):
    """A seller's day on one platform (or ``platform = 'all'``), in the reporting currency."""

    __tablename__ = "daily_metrics"
    tenant_id: str = Field(primary_key=True, max_length=64)
    seller_id: str = Field(primary_key=True, max_length=64)
    platform: str = Field(primary_key=True, max_length=32)  # a platform name or "all"
    day: date = Field(primary_key=True)
    currency: str = Field(max_length=3)
    gross_sales: Decimal = _money()
    orders: int = 0
    units: int = 0
    order_gross: Decimal = _money()
    refunds: Decimal = _money()
    refund_rate: Decimal | None = _money(nullable=True)
    fees: Decimal = _money()
    net_sales: Decimal = _money()
    payouts: Decimal = _money()
    disputes: int = 0
    dispute_amount: Decimal = _money()
    dispute_rate: Decimal | None = _money(nullable=True)
    average_order_value: Decimal | None = _money(nullable=True)
    unconverted: int = 0  # amounts left out: no ECB rate for their currency
    updated_at: datetime = Field(default_factory=utcnow)


class MetricsDirty(SQLModel, table=True):
    """A bucket whose daily metrics must be recomputed (marked by the page writer)."""

    __tablename__ = "metrics_dirty"
    tenant_id: str = Field(primary_key=True, max_length=64)
    seller_id: str = Field(primary_key=True, max_length=64)
    platform: str = Field(primary_key=True, max_length=32)
    day: date = Field(primary_key=True)
    seq: int = 1
    marked_at: datetime = Field(default_factory=utcnow)


# Per-bucket reads of the canonical tables: (seller, platform, time field).
BUCKET_INDEXES = (
    Index(
        "ix_orders_bucket",
        table_of(OrderRow).c.seller_id,
        table_of(OrderRow).c.platform,
        table_of(OrderRow).c.placed_at,
    ),
    Index(
        "ix_transactions_bucket",
        table_of(TransactionRow).c.seller_id,
        table_of(TransactionRow).c.platform,
        table_of(TransactionRow).c.occurred_at,
    ),
    Index(
        "ix_refunds_bucket",
        table_of(RefundRow).c.seller_id,
        table_of(RefundRow).c.platform,
        table_of(RefundRow).c.created_at,
    ),
    Index(
        "ix_disputes_bucket",
        table_of(DisputeRow).c.seller_id,
        table_of(DisputeRow).c.platform,
        table_of(DisputeRow).c.opened_at,
    ),
    Index(
        "ix_payouts_bucket",
        table_of(PayoutRow).c.seller_id,
        table_of(PayoutRow).c.platform,
        table_of(PayoutRow).c.created_at,
    ),
)
