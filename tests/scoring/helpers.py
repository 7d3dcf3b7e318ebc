"""Helpers for the scoring tests: a tenant with sellers and connections, pages written through
the real page writer, and fixed euro quotes whose cross rates are easy to compute by hand."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import typer
from sqlalchemy import Engine, select
from sqlmodel import Session

import normalizer.stripe
from normalizer.context import MappingContext
from normalizer.pii import redact
from normalizer.schema import CanonicalRecord, Order, OrderStatus
from sellerhub import cli_warehouse, control
from warehouse.fx import FxRates
from warehouse.scoring_tables import DailyMetric
from warehouse.tables import SyncRun, table_of
from warehouse.writer import (
    ConnectionScope,
    MappedRecord,
    PageOutcome,
    StreamStateUpdate,
    write_page,
)


class FixedQuotes:
    """Units per euro: USD 1.25 and JPY 125 on every day (JPY -> USD is exactly 0.01)."""

    QUOTES: Mapping[str, Decimal] = {
        "EUR": Decimal(1),
        "USD": Decimal("1.25"),
        "JPY": Decimal(125),
    }

    source = "fixed test quotes"

    def quote(self, currency: str, day: date) -> Decimal | None:
        return self.QUOTES.get(currency)

    def knows(self, currency: str) -> bool:
        return currency in self.QUOTES

    def first_date(self) -> date:
        return date(1999, 1, 4)

    def last_date(self) -> date:
        return date(2100, 1, 1)


def fixed_rates() -> FxRates:
    return FxRates(FixedQuotes())


def make_scope(
    engine: Engine,
    platform: str,
    *,
    tenant: str = "Lender",
    seller: str = "s1",
    account: str = "acct_1",
    reporting_currency: str = "USD",
) -> ConnectionScope:
    tenant_row = control.ensure_tenant(engine, tenant, reporting_currency)
    seller_row = control.ensure_seller(engine, tenant_row.id, seller, f"Seller {seller}")
    connection = control.upsert_connection(
        engine,
        tenant_id=tenant_row.id,
        seller_id=seller_row.id,
        platform=platform,
        environment="sandbox",
        region="",
        platform_account_id=account,
        scopes="read_only",
    )
    return ConnectionScope(tenant_row.id, seller_row.id, connection.id, platform)


def new_run(engine: Engine, scope: ConnectionScope, stream: str) -> int:
    with Session(engine) as session:
        run = SyncRun(connection_id=scope.connection_id, stream=stream)
        session.add(run)
        session.commit()
        assert run.id is not None
        return run.id


def write(
    engine: Engine,
    scope: ConnectionScope,
    stream: str,
    groups: Sequence[Sequence[CanonicalRecord]],
    *,
    run_id: int | None = None,
    payloads: Sequence[Mapping[str, Any]] | None = None,
    fetched_at: datetime | None = None,
) -> PageOutcome:
    """One page: each group is what one raw record maps to (its first record names it)."""
    run = run_id if run_id is not None else new_run(engine, scope, stream)
    records = [
        MappedRecord(
            group[0].external_id,
            dict(payloads[i]) if payloads else {"id": group[0].external_id, "n": repr(group)},
            list(group),
        )
        for i, group in enumerate(groups)
    ]
    return write_page(
        engine,
        scope=scope,
        stream=stream,
        run_id=run,
        mapping_version=1,
        records=records,
        quarantined=[],
        state=StreamStateUpdate(cursor=None, pending=None),
        fetched_at=fetched_at,
    )


def write_stripe_charges(
    engine: Engine,
    scope: ConnectionScope,
    context: MappingContext,
    raws: Sequence[dict[str, Any]],
    *,
    mapping_version: int,
) -> None:
    """Raw Stripe charges written as their sync would write them under ``mapping_version``:
    the redacted copy kept, the mapped rows upserted."""
    write_page(
        engine,
        scope=scope,
        stream="charges",
        run_id=new_run(engine, scope, "charges"),
        mapping_version=mapping_version,
        records=[
            MappedRecord(
                raw["id"],
                redact("stripe", "charges", raw, context),
                normalizer.stripe.map_charges(raw, context),
            )
            for raw in raws
        ],
        quarantined=[],
        state=StreamStateUpdate(cursor=None, pending=None),
    )


def daily_rows(engine: Engine, tenant_id: str) -> dict[tuple[str, str, date], dict[str, Any]]:
    """A tenant's daily_metrics rows by (seller, platform, day), without their write time."""
    table = table_of(DailyMetric)
    with engine.connect() as conn:
        return {
            (row.seller_id, row.platform, row.day): {
                k: v for k, v in row._mapping.items() if k != "updated_at"
            }
            for row in conn.execute(select(table).where(table.c.tenant_id == tenant_id))
        }


def warehouse_cli() -> typer.Typer:
    """The warehouse commands composed as ``sellerhub/cli.py`` registers them
    (``app.add_typer(cli_warehouse.app)``), for Typer's test runner."""
    app = typer.Typer()

    @app.command()
    def status() -> None:  # a second command, so the sub-app's commands stay named
        """Placeholder."""

    app.add_typer(cli_warehouse.app)
    return app


def charge_order(
    external_id: str,
    status: OrderStatus,
    placed: datetime = datetime(2026, 3, 30, 10, 0, tzinfo=UTC),
) -> Order:
    """A Stripe charge's order of 10.50 USD, as the history and migration tests write it."""
    return Order(
        external_id=external_id,
        placed_at=placed,
        status=status,
        channel="stripe",
        currency="USD",
        gross=Decimal("10.50"),
        net=Decimal("10.50"),
    )
