"""Read-side queries for the CLI and the API: counts, money totals, connection health.

Money is summed in Python with ``Decimal``: on the embedded SQLite warehouse amounts are stored
as exact text (see ``warehouse.types.ExactDecimal``), and summing there would go through floats.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from warehouse.consent import consent_state
from warehouse.mapping_state import reminder
from warehouse.tables import (
    CANONICAL_TABLES,
    AccountRow,
    Connection,
    PayoutRow,
    QuarantinedRecord,
    SyncRun,
    TransactionRow,
    table_of,
    utcnow,
)

Totals = dict[str, Decimal]  # currency -> amount


@dataclass
class ConnectionSummary:
    connection: Connection
    counts: dict[str, int]
    quarantined: int
    gross_sales: Totals
    refunds: Totals
    payouts: Totals
    currency: str | None
    health: str
    last_error: str | None = None
    last_success: datetime | None = None
    streams: dict[str, str] = field(default_factory=dict)
    # set when the rows predate the current mappings: what to run (warehouse.mapping_state)
    mapping_reminder: str | None = None


def entity_counts(engine: Engine, connection_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    with Session(engine) as session:
        for entity, model in CANONICAL_TABLES.items():
            table = table_of(model)
            counts[entity] = session.execute(
                select(func.count())
                .select_from(table)
                .where(table.c.connection_id == connection_id)
            ).scalar_one()
    return counts


def _sum_by_currency(rows: list[tuple[str, Decimal]]) -> Totals:
    totals: Totals = defaultdict(Decimal)
    for currency, amount in rows:
        totals[currency] += amount
    return dict(totals)


def money_totals(engine: Engine, connection_id: str) -> tuple[Totals, Totals, Totals]:
    """Gross sales, refunds (as a positive amount) and paid-out payouts, by currency."""
    tx = table_of(TransactionRow)
    payouts = table_of(PayoutRow)
    with Session(engine) as session:

        def transactions_of(kind: str) -> Totals:
            rows = session.execute(
                select(tx.c.currency, tx.c.amount).where(
                    tx.c.connection_id == connection_id, tx.c.type == kind
                )
            ).all()
            return _sum_by_currency([(r[0], r[1]) for r in rows])

        gross = transactions_of("sale")
        refunds = {c: -a for c, a in transactions_of("refund").items()}
        paid = session.execute(
            select(payouts.c.currency, payouts.c.amount).where(
                payouts.c.connection_id == connection_id, payouts.c.status == "paid"
            )
        ).all()
    return gross, refunds, _sum_by_currency([(r[0], r[1]) for r in paid])


def account_currency(engine: Engine, connection_id: str) -> str | None:
    with Session(engine) as session:
        row = session.execute(
            select(table_of(AccountRow).c.default_currency)
            .where(table_of(AccountRow).c.connection_id == connection_id)
            .order_by(table_of(AccountRow).c.external_id)
        ).first()
    return row[0] if row else None


def stream_health(
    engine: Engine, connection: Connection, *, now: datetime | None = None
) -> tuple[str, dict[str, str], str | None, datetime | None]:
    """Overall health (fresh, stale, failing, reauth_required, disconnected, never_synced,
    consent_expiring, consent_expired), the last status per stream, the last error (or why the
    consent needs attention) and the last successful finish.

    An expired consent outranks everything but the connection's own status; an expiring one is
    reported only while nothing worse (failing, stale) is."""
    runs = table_of(SyncRun)
    with Session(engine) as session:
        rows = session.execute(
            select(runs.c.id, runs.c.stream, runs.c.status, runs.c.error, runs.c.finished_at)
            .where(runs.c.connection_id == connection.id)
            .order_by(runs.c.id)
        ).all()
    latest: dict[str, tuple[str, str | None, int]] = {}
    last_success: datetime | None = None
    for run_id, stream, status, error, finished in rows:
        latest[stream] = (status, error, run_id)
        if status == "succeeded" and finished and (last_success is None or finished > last_success):
            last_success = finished
    streams = {name: value[0] for name, value in latest.items()}
    # the most recent failure among the streams whose latest run failed
    failures = sorted((v for v in latest.values() if v[0] == "failed" and v[1]), key=lambda v: v[2])
    errors = [value[1] for value in failures]
    last_error = errors[-1] if errors else None
    if connection.status != "active":
        return connection.status, streams, connection.status_reason or last_error, last_success
    current = now or utcnow()
    consent = consent_state(connection, now=current)
    if consent.health == "consent_expired":
        return consent.health, streams, consent.message(connection.platform, current), last_success
    if not latest:
        return "never_synced", streams, None, None
    if errors:
        return "failing", streams, last_error, last_success
    stale_after = timedelta(seconds=connection.sync_interval_seconds * 2)
    if last_success is None or current - last_success > stale_after:
        return "stale", streams, None, last_success
    if consent.health == "consent_expiring":
        return consent.health, streams, consent.message(connection.platform, current), last_success
    return "fresh", streams, None, last_success


def quarantined_count(engine: Engine, connection_id: str) -> int:
    table = table_of(QuarantinedRecord)
    with Session(engine) as session:
        return int(
            session.execute(
                select(func.count())
                .select_from(table)
                .where(table.c.connection_id == connection_id)
            ).scalar_one()
        )


def summarize(engine: Engine, connection: Connection) -> ConnectionSummary:
    gross, refunds, payouts = money_totals(engine, connection.id)
    health, streams, last_error, last_success = stream_health(engine, connection)
    return ConnectionSummary(
        connection=connection,
        counts=entity_counts(engine, connection.id),
        quarantined=quarantined_count(engine, connection.id),
        gross_sales=gross,
        refunds=refunds,
        payouts=payouts,
        currency=account_currency(engine, connection.id),
        health=health,
        last_error=last_error,
        last_success=last_success,
        streams=streams,
        mapping_reminder=reminder(connection),
    )
