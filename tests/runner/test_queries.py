"""warehouse.queries over what a sync writes: counts and money totals by currency, exact.

Amounts whose float sum is inexact (0.10 + 0.20) show that sums are done in Decimal on both
databases (SQLite stores exact text; summing there would go through floats).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import Session

from normalizer.schema import (
    Account,
    AccountStatus,
    CanonicalRecord,
    Payout,
    PayoutStatus,
    Transaction,
    TransactionType,
)
from warehouse.queries import money_totals, stream_health, summarize
from warehouse.tables import Connection, SyncRun
from warehouse.writer import ConnectionScope, MappedRecord, StreamStateUpdate, write_page

from .fakes import make_connection

WHEN = datetime(2026, 2, 1, tzinfo=UTC)


def txn(external_id: str, kind: TransactionType, amount: str, currency: str) -> Transaction:
    return Transaction(
        external_id=external_id,
        type=kind,
        occurred_at=WHEN,
        currency=currency,
        amount=Decimal(amount),
    )


def payout(external_id: str, amount: str, currency: str, status: PayoutStatus) -> Payout:
    return Payout(
        external_id=external_id,
        created_at=WHEN,
        currency=currency,
        amount=Decimal(amount),
        status=status,
    )


def land(engine: Engine, connection_id: str, stream: str, rows: list[CanonicalRecord]) -> None:
    with Session(engine) as session:
        connection = session.get(Connection, connection_id)
        assert connection is not None
        run = SyncRun(connection_id=connection_id, stream=stream)
        session.add(run)
        session.commit()
        assert run.id is not None
        scope = ConnectionScope(
            connection.tenant_id, connection.seller_id, connection.id, connection.platform
        )
    write_page(
        engine,
        scope=scope,
        stream=stream,
        run_id=run.id,
        mapping_version=1,
        records=[MappedRecord(r.external_id, {"id": r.external_id}, [r]) for r in rows],
        quarantined=[],
        state=StreamStateUpdate(cursor=None, pending=None),
    )


def test_money_totals_are_exact_and_per_currency(engine: Engine) -> None:
    connection = make_connection(engine, "stripe")
    land(
        engine,
        connection.id,
        "balance_transactions",
        [
            txn("txn_1", TransactionType.SALE, "0.10", "USD"),
            txn("txn_2", TransactionType.SALE, "0.20", "USD"),
            txn("txn_3", TransactionType.SALE, "1500", "JPY"),
            txn("txn_4", TransactionType.REFUND, "-0.05", "USD"),
            txn("txn_5", TransactionType.FEE, "-0.03", "USD"),
            txn("txn_6", TransactionType.PAYOUT, "-100.01", "USD"),
        ],
    )
    land(
        engine,
        connection.id,
        "payouts",
        [
            payout("po_1", "100.01", "USD", PayoutStatus.PAID),
            payout("po_2", "50.00", "USD", PayoutStatus.PENDING),
            payout("po_3", "7.5", "EUR", PayoutStatus.PAID),
        ],
    )
    land(
        engine,
        connection.id,
        "account",
        [Account(external_id="acct_1", status=AccountStatus.ACTIVE, default_currency="USD")],
    )

    gross, refunds, paid = money_totals(engine, connection.id)

    assert gross == {"USD": Decimal("0.30"), "JPY": Decimal(1500)}
    assert all(isinstance(v, Decimal) for v in (*gross.values(), *refunds.values()))
    assert str(gross["USD"].normalize()) == "0.3"  # not 0.30000000000000004
    assert refunds == {"USD": Decimal("0.05")}  # reported as a positive amount
    assert paid == {"USD": Decimal("100.01"), "EUR": Decimal("7.5")}  # only paid payouts

    summary = summarize(engine, connection)
    assert summary.counts["transactions"] == 6
    assert summary.counts["payouts"] == 3
    assert summary.counts["orders"] == 0
    assert summary.currency == "USD"


def test_last_error_is_the_most_recent_failure(engine: Engine) -> None:
    connection = make_connection(engine, "stripe")
    with Session(engine) as session:
        for stream, status, error in [
            ("charges", "succeeded", None),
            ("payouts", "failed", "payouts: HTTP 400 (older failure)"),
            ("charges", "failed", "charges: HTTP 500 (newer failure)"),
        ]:
            session.add(
                SyncRun(
                    connection_id=connection.id,
                    stream=stream,
                    status=status,
                    error=error,
                    finished_at=WHEN,
                )
            )
            session.commit()

    health, streams, last_error, _ = stream_health(engine, connection)

    assert health == "failing"
    assert streams == {"charges": "failed", "payouts": "failed"}
    assert last_error == "charges: HTTP 500 (newer failure)"
