"""The page writer on SQLite and PostgreSQL: idempotent, versioned, exact, atomic."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from normalizer.schema import Order, OrderStatus, Transaction, TransactionType
from sellerhub import control
from warehouse import writer
from warehouse.driver_rows import LOOKUP_CHUNK
from warehouse.tables import (
    CanonicalVersion,
    OrderRow,
    QuarantinedRecord,
    RawRecord,
    SyncRun,
    SyncState,
    TransactionRow,
)
from warehouse.writer import (
    ConnectionScope,
    MappedRecord,
    QuarantineItem,
    StreamStateUpdate,
    write_page,
)

PLACED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _scope(engine: Engine) -> tuple[ConnectionScope, int]:
    tenant = control.ensure_tenant(engine, "t")
    seller = control.ensure_seller(engine, tenant.id, "s1", "Seller")
    connection = control.upsert_connection(
        engine,
        tenant_id=tenant.id,
        seller_id=seller.id,
        platform="stripe",
        environment="sandbox",
        region="",
        platform_account_id="acct_1",
        scopes="read_only",
    )
    with Session(engine) as session:
        run = SyncRun(connection_id=connection.id, stream="charges")
        session.add(run)
        session.commit()
        assert run.id is not None
        run_id = run.id
    return ConnectionScope(tenant.id, seller.id, connection.id, "stripe"), run_id


def _order(external_id: str, gross: str, status: OrderStatus = OrderStatus.PAID) -> Order:
    return Order(
        external_id=external_id,
        placed_at=PLACED,
        status=status,
        channel="stripe",
        currency="USD",
        gross=Decimal(gross),
        net=Decimal(gross),
    )


def _page(orders: list[Order]) -> list[MappedRecord]:
    return [
        MappedRecord(
            o.external_id, {"id": o.external_id, "amount": o.gross, "status": o.status.value}, [o]
        )
        for o in orders
    ]


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _write(
    engine: Engine, scope: ConnectionScope, run_id: int, records, quarantined=(), cursor="c1"
):
    return write_page(
        engine,
        scope=scope,
        stream="charges",
        run_id=run_id,
        mapping_version=1,
        records=records,
        quarantined=list(quarantined),
        state=StreamStateUpdate(cursor=cursor, pending=None),
    )


def test_rewriting_the_same_page_adds_no_rows_and_no_versions(engine: Engine) -> None:
    scope, run_id = _scope(engine)
    page = _page([_order("ch_1", "10.00"), _order("ch_2", "20.50")])
    first = _write(engine, scope, run_id, page)
    assert (first.rows_inserted, first.raw_inserted) == (2, 2)
    before = (_count(engine, OrderRow), _count(engine, CanonicalVersion), _count(engine, RawRecord))
    second = _write(engine, scope, run_id, page)
    assert (second.rows_inserted, second.rows_updated, second.raw_inserted) == (0, 0, 0)
    assert second.rows_unchanged == 2
    after = (_count(engine, OrderRow), _count(engine, CanonicalVersion), _count(engine, RawRecord))
    # a new row's version is the row itself: nothing in canonical_versions until it changes
    assert after == before == (2, 0, 2)


def test_a_changed_record_gets_a_new_version_and_the_old_one_is_closed(engine: Engine) -> None:
    scope, run_id = _scope(engine)
    _write(engine, scope, run_id, _page([_order("ch_1", "10.00")]))
    outcome = _write(engine, scope, run_id, _page([_order("ch_1", "10.00", OrderStatus.REFUNDED)]))
    assert outcome.rows_updated == 1
    with Session(engine) as session:
        row = session.exec(select(OrderRow)).scalars().one()  # type: ignore[call-overload]
        assert (row.status, row.version) == ("refunded", 2)
        versions = (
            session.exec(
                select(CanonicalVersion).order_by(CanonicalVersion.version)  # type: ignore[arg-type]
            )
            .scalars()
            .all()
        )
    # only the closed version is in canonical_versions, with its content and lineage as the
    # row held them; the current one is the row itself
    assert [v.version for v in versions] == [1]
    closed = versions[0]
    assert closed.content["status"] == "paid"
    assert (closed.valid_from, closed.valid_to) == (row.first_seen_at, row.recorded_at)
    assert closed.run_id == row.run_id == run_id
    # the raw record changed too, and both raw versions are kept for lineage
    assert _count(engine, RawRecord) == 2
    assert row.raw_id is not None and closed.raw_id is not None and row.raw_id != closed.raw_id


def test_a_page_larger_than_one_lookup_finds_every_stored_row(engine: Engine) -> None:
    """More keys than one SQLite look-up takes (chunks there, one array parameter on
    PostgreSQL): every stored row and raw record is found, so only the changed ones change."""
    scope, run_id = _scope(engine)
    count = 2 * LOOKUP_CHUNK + 201
    orders = [_order(f"ch_{index:05d}", f"{index}.00") for index in range(count)]
    assert _write(engine, scope, run_id, _page(orders)).rows_inserted == count
    changed = {7, LOOKUP_CHUNK + 3, count - 1}  # one in each chunk
    again = [
        _order(o.external_id, str(o.gross), OrderStatus.REFUNDED) if index in changed else o
        for index, o in enumerate(orders)
    ]
    outcome = _write(engine, scope, run_id, _page(again))
    assert (outcome.rows_inserted, outcome.rows_updated) == (0, len(changed))
    assert outcome.rows_unchanged == count - len(changed)
    assert outcome.raw_inserted == len(changed)
    assert _count(engine, OrderRow) == count
    assert _count(engine, CanonicalVersion) == len(changed)  # the closed versions


def test_the_same_amount_written_differently_is_not_a_change(engine: Engine) -> None:
    scope, run_id = _scope(engine)
    _write(engine, scope, run_id, _page([_order("ch_1", "10.0")]))
    outcome = _write(engine, scope, run_id, _page([_order("ch_1", "10.00")]))
    assert outcome.rows_updated == 0


def test_money_round_trips_exactly(engine: Engine) -> None:
    scope, run_id = _scope(engine)
    amounts = ["0.10", "0.20", "123456789012.345", "-0.01", "99999999.99"]
    records = [
        MappedRecord(
            f"txn_{i}",
            {"id": f"txn_{i}", "amount": Decimal(a)},
            [
                Transaction(
                    external_id=f"txn_{i}",
                    type=TransactionType.SALE,
                    occurred_at=PLACED,
                    currency="KWD",
                    amount=Decimal(a),
                )
            ],
        )
        for i, a in enumerate(amounts)
    ]
    _write(engine, scope, run_id, records)
    with Session(engine) as session:
        stored = session.exec(select(TransactionRow)).scalars().all()  # type: ignore[call-overload]
        raws = session.exec(select(RawRecord)).scalars().all()  # type: ignore[call-overload]
    assert sorted(str(r.amount) for r in stored) == sorted(amounts)
    assert all(isinstance(r.amount, Decimal) for r in stored)
    assert sum((r.amount for r in stored), Decimal(0)) == sum(Decimal(a) for a in amounts)
    # raw payload decimals come back as exact Decimals, not floats
    assert sorted(str(r.payload["amount"]) for r in raws) == sorted(amounts)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            total = conn.execute(select(func.sum(TransactionRow.__table__.c.amount))).scalar_one()
        assert total == sum(Decimal(a) for a in amounts)


def test_quarantined_records_land_beside_the_rest_of_the_page(engine: Engine) -> None:
    scope, run_id = _scope(engine)
    bad = QuarantineItem("ch_bad", "amount: not a number", {"id": "ch_bad"})
    outcome = _write(engine, scope, run_id, _page([_order("ch_1", "1.00")]), [bad])
    assert outcome.quarantined == 1
    assert _count(engine, OrderRow) == 1
    with Session(engine) as session:
        item = session.exec(select(QuarantinedRecord)).scalars().one()  # type: ignore[call-overload]
        run = session.get(SyncRun, run_id)
    assert item.reason == "amount: not a number"
    assert run is not None and (run.pages, run.records, run.quarantined) == (1, 1, 1)


def test_a_failure_inside_the_page_leaves_nothing_behind(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    scope, run_id = _scope(engine)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("crash after canonical rows, before the cursor")

    monkeypatch.setattr(writer, "save_state", crash)
    with pytest.raises(RuntimeError):
        _write(engine, scope, run_id, _page([_order("ch_1", "1.00")]), cursor="after")
    assert _count(engine, OrderRow) == 0
    assert _count(engine, RawRecord) == 0
    assert _count(engine, CanonicalVersion) == 0
    assert _count(engine, SyncState) == 0
