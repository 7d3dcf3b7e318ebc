"""Warehouse tables (SQLModel on SQLAlchemy 2).

Three groups:

* control: tenants, sellers, connections, oauth_states, sync_runs, sync_state, sync_events;
* raw: raw_records (the platform payload as fetched, buyer PII removed) and quarantine;
* canonical: one table per entity of ``normalizer.schema`` (each row its current version) plus
  ``canonical_versions``, which keeps every earlier version with the interval it was current, so
  a query can ask what the warehouse knew at any past moment.

Money columns are :class:`ExactDecimal`; times are sqlmodel's UTC-aware ``UTCDateTime``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Index, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from warehouse.types import ExactDecimal


def utcnow() -> datetime:
    return datetime.now(UTC)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a SQLModel table class (typed, for Core statements)."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def _money(nullable: bool = False) -> Any:
    return Field(sa_type=ExactDecimal, nullable=nullable)


# --------------------------------------------------------------------------- control


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"
    id: str = Field(primary_key=True, max_length=64)
    name: str
    reporting_currency: str = Field(default="USD", max_length=3)
    created_at: datetime = Field(default_factory=utcnow)


class ApiKey(SQLModel, table=True):
    """A tenant's API key: only a hash is stored; the key itself is shown once, at creation."""

    __tablename__ = "api_keys"
    id: str = Field(primary_key=True, max_length=32)  # the key's public prefix
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=64)
    secret_hash: str = Field(max_length=64)
    scopes: str = "read"  # space-separated: read, connect, admin
    label: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class Seller(SQLModel, table=True):
    __tablename__ = "sellers"
    __table_args__ = (UniqueConstraint("tenant_id", "reference"),)
    id: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=64)
    reference: str  # the lender's own id for this seller
    name: str
    created_at: datetime = Field(default_factory=utcnow)


class Connection(SQLModel, table=True):
    """One seller account at one platform, authorized by OAuth."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("tenant_id", "platform", "platform_account_id", "region"),)
    id: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=64)
    seller_id: str = Field(foreign_key="sellers.id", index=True, max_length=64)
    platform: str = Field(max_length=32)
    environment: str = Field(default="production", max_length=16)  # production | sandbox
    region: str = Field(default="", max_length=16)
    platform_account_id: str = Field(max_length=128)
    marketplace_ids: list[str] = Field(default_factory=list, sa_type=JSON)
    scopes: str = ""
    # connecting (consent under way, token not stored yet) | active | reauth_required |
    # disconnected
    status: str = Field(default="active", max_length=32)
    status_reason: str | None = None
    consented_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    sync_interval_seconds: int = 3600
    # the platform's MAPPING_VERSION this connection's canonical rows were last brought up to
    # (at creation, then by a complete `sellerhub renormalize`); None: no rows when tracking
    # began (migration 0008). Below the current version: see warehouse.mapping_state.
    mapping_version: int | None = None


class OAuthState(SQLModel, table=True):
    """A pending authorization: single-use, bound to seller and platform, expiring."""

    __tablename__ = "oauth_states"
    state: str = Field(primary_key=True, max_length=128)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    seller_id: str = Field(foreign_key="sellers.id", max_length=64)
    platform: str = Field(max_length=32)
    environment: str = Field(default="production", max_length=16)
    region: str = Field(default="", max_length=16)
    redirect_uri: str
    code_verifier: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None


class SyncRun(SQLModel, table=True):
    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_connection_stream", "connection_id", "stream"),)
    id: int | None = Field(default=None, primary_key=True)
    connection_id: str = Field(foreign_key="connections.id", max_length=64)
    stream: str = Field(max_length=64)
    trigger: str = Field(default="manual", max_length=32)  # manual | schedule | backfill
    status: str = Field(default="running", max_length=16)  # running | succeeded | failed
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    pages: int = 0
    records: int = 0
    quarantined: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    error: str | None = None
    error_action: str | None = None  # retry | reauthorize | skip_record | fail_run
    error_fault: str | None = None  # platform | seller | ours


class SyncState(SQLModel, table=True):
    """The cursor of one stream of one connection, saved with the page it follows."""

    __tablename__ = "sync_state"
    connection_id: str = Field(foreign_key="connections.id", primary_key=True, max_length=64)
    stream: str = Field(primary_key=True, max_length=64)
    cursor: str | None = None  # committed high-water mark (ISO 8601 UTC)
    pending: dict[str, Any] | None = Field(default=None, sa_type=JSON)  # backfill in progress
    updated_at: datetime = Field(default_factory=utcnow)


class SyncEvent(SQLModel, table=True):
    """Things ops should see about a connection: re-auth needed, disconnects, consents."""

    __tablename__ = "sync_events"
    id: int | None = Field(default=None, primary_key=True)
    connection_id: str = Field(foreign_key="connections.id", index=True, max_length=64)
    kind: str = Field(max_length=32)
    message: str
    created_at: datetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------- raw


class RawRecord(SQLModel, table=True):
    """A platform record as fetched (buyer PII removed), kept once per distinct content."""

    __tablename__ = "raw_records"
    __table_args__ = (UniqueConstraint("connection_id", "stream", "external_id", "payload_hash"),)
    id: int | None = Field(default=None, primary_key=True)
    connection_id: str = Field(foreign_key="connections.id", max_length=64)
    stream: str = Field(max_length=64)
    external_id: str = Field(max_length=255)
    payload: dict[str, Any] = Field(sa_type=JSON)
    payload_hash: str = Field(max_length=64)
    fetched_at: datetime = Field(default_factory=utcnow)
    run_id: int | None = Field(default=None, foreign_key="sync_runs.id")


class QuarantinedRecord(SQLModel, table=True):
    """A record that could not be mapped, with the reason; the rest of its page landed."""

    __tablename__ = "quarantine"
    id: int | None = Field(default=None, primary_key=True)
    connection_id: str = Field(foreign_key="connections.id", index=True, max_length=64)
    stream: str = Field(max_length=64)
    external_id: str | None = Field(default=None, max_length=255)
    reason: str
    payload: dict[str, Any] = Field(sa_type=JSON)
    run_id: int | None = Field(default=None, foreign_key="sync_runs.id")
    created_at: datetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------- canonical


class CanonicalColumns(SQLModel):
    """Ownership and lineage columns every canonical row carries."""

    id: int | None = Field(default=None, primary_key=True)
    # not indexed alone (migration 0006): reads go by seller or through the tenant's connections
    tenant_id: str = Field(max_length=64)
    # per-seller reads use the (seller_id, platform, time) bucket index where the entity has
    # one (warehouse/scoring_tables.py); accounts and order lines index seller_id alone
    seller_id: str = Field(max_length=64)
    connection_id: str = Field(max_length=64)
    platform: str = Field(max_length=32)
    external_id: str = Field(max_length=255)
    raw_id: int | None = None
    # the sync run that wrote this version (null when renormalize did); migration 0009
    run_id: int | None = None
    mapping_version: int
    first_seen_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime | None = None  # platform time
    recorded_at: datetime = Field(default_factory=utcnow)  # when this version was written
    version: int = 1
    content_hash: str = Field(max_length=64)


def _natural_key(table: str) -> tuple[Any, ...]:
    return (UniqueConstraint("connection_id", "external_id", name=f"uq_{table}_natural_key"),)


class AccountRow(CanonicalColumns, table=True):
    __tablename__ = "accounts"
    __table_args__ = (*_natural_key("accounts"), Index("ix_accounts_seller_id", "seller_id"))
    name: str | None = None
    country: str | None = Field(default=None, max_length=2)
    default_currency: str | None = Field(default=None, max_length=3)
    opened_at: datetime | None = None
    status: str = Field(max_length=32)


class OrderRow(CanonicalColumns, table=True):
    __tablename__ = "orders"
    __table_args__ = _natural_key("orders")
    placed_at: datetime
    status: str = Field(max_length=32)
    channel: str = Field(max_length=64)
    currency: str = Field(max_length=3)
    gross: Decimal = _money()
    tax: Decimal = _money()
    shipping: Decimal = _money()
    discount: Decimal = _money()
    net: Decimal = _money()
    buyer_country: str | None = Field(default=None, max_length=2)
    buyer_key: str | None = Field(default=None, max_length=128)


class OrderLineRow(CanonicalColumns, table=True):
    __tablename__ = "order_lines"
    __table_args__ = (
        *_natural_key("order_lines"),
        Index("ix_order_lines_seller_id", "seller_id"),
    )
    order_external_id: str = Field(max_length=255, index=True)
    sku: str | None = None
    title: str | None = None
    quantity: int
    currency: str = Field(max_length=3)
    unit_price: Decimal = _money()
    line_total: Decimal = _money()


class RefundRow(CanonicalColumns, table=True):
    __tablename__ = "refunds"
    __table_args__ = _natural_key("refunds")
    order_external_id: str | None = Field(default=None, max_length=255)
    created_at: datetime
    currency: str = Field(max_length=3)
    amount: Decimal = _money()
    reason: str | None = None
    status: str = Field(max_length=32)


class TransactionRow(CanonicalColumns, table=True):
    __tablename__ = "transactions"
    __table_args__ = _natural_key("transactions")
    type: str = Field(max_length=32)
    occurred_at: datetime
    currency: str = Field(max_length=3)
    amount: Decimal = _money()
    status: str = Field(max_length=32)
    description: str | None = None
    related_order_external_id: str | None = Field(default=None, max_length=255)
    related_payout_external_id: str | None = Field(default=None, max_length=255)


class PayoutRow(CanonicalColumns, table=True):
    __tablename__ = "payouts"
    __table_args__ = _natural_key("payouts")
    created_at: datetime
    arrival_date: date | None = None
    currency: str = Field(max_length=3)
    amount: Decimal = _money()
    status: str = Field(max_length=32)
    period_start: datetime | None = None
    period_end: datetime | None = None


class DisputeRow(CanonicalColumns, table=True):
    __tablename__ = "disputes"
    __table_args__ = _natural_key("disputes")
    opened_at: datetime
    currency: str = Field(max_length=3)
    amount: Decimal = _money()
    reason: str | None = None
    status: str = Field(max_length=32)
    outcome: str | None = Field(default=None, max_length=32)
    related_order_external_id: str | None = Field(default=None, max_length=255)
    related_charge_external_id: str | None = Field(default=None, max_length=255)


class CanonicalVersion(SQLModel, table=True):
    """Every earlier (closed) version of every canonical row, with the interval it was current.

    The current version is the canonical row itself: its content, and its lineage (``raw_id``,
    ``run_id``, ``mapping_version``, ``version``, ``recorded_at`` as its ``valid_from``), are the
    row's own columns (migrations 0007 and 0009). When a row changes, the version it had is
    written here, closed, with its content as it was."""

    __tablename__ = "canonical_versions"
    __table_args__ = (
        # also serves look-ups by (entity, connection_id, external_id), its prefix
        UniqueConstraint("entity", "connection_id", "external_id", "version"),
    )
    id: int | None = Field(default=None, primary_key=True)
    entity: str = Field(max_length=32)
    connection_id: str = Field(max_length=64)
    external_id: str = Field(max_length=255)
    version: int
    content_hash: str = Field(max_length=64)
    # canonical fields as they were, decimals as strings (warehouse/stored_content.py)
    content: dict[str, Any] = Field(sa_type=JSON)
    raw_id: int | None = None
    run_id: int | None = None
    mapping_version: int
    valid_from: datetime
    valid_to: datetime


CANONICAL_TABLES: dict[str, type[CanonicalColumns]] = {
    "accounts": AccountRow,
    "orders": OrderRow,
    "order_lines": OrderLineRow,
    "refunds": RefundRow,
    "transactions": TransactionRow,
    "payouts": PayoutRow,
    "disputes": DisputeRow,
}
