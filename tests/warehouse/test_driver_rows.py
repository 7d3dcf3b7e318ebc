"""The page writer's driver rows store exactly what SQLAlchemy's column types would store.

``warehouse.writer`` inserts canonical rows with the driver's ``executemany`` and values
adapted by ``warehouse.driver_rows``; every read goes through SQLAlchemy's typed columns. Here
each entity is written both ways (the writer for one connection, a typed Core insert of the
same values for another) and the stored column values are compared as the database holds them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from normalizer.schema import (
    Account,
    AccountStatus,
    CanonicalRecord,
    Dispute,
    DisputeOutcome,
    DisputeStatus,
    Order,
    OrderLine,
    OrderStatus,
    Payout,
    PayoutStatus,
    Refund,
    RefundStatus,
    Transaction,
    TransactionStatus,
    TransactionType,
)
from tests.scoring.helpers import make_scope, new_run
from warehouse.driver_rows import LOOKUP_CHUNK, Dialect, sqlite_money, sqlite_time
from warehouse.fingerprints import canonical_content, content_hash
from warehouse.tables import CANONICAL_TABLES, table_of
from warehouse.writer import ConnectionScope, MappedRecord, StreamStateUpdate, write_page

WHEN = datetime(2026, 3, 1, 12, 0, 5, 120, tzinfo=UTC)
ON_THE_SECOND = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
TOKYO = timezone(timedelta(hours=9))


def _records() -> list[CanonicalRecord]:
    return [
        Account(external_id="acct", name="Shop é", country="JP", default_currency="JPY",
                opened_at=ON_THE_SECOND, status=AccountStatus.ACTIVE),
        Order(external_id="o1", placed_at=WHEN, status=OrderStatus.PAID, channel="web",
              currency="USD", gross=Decimal("10.50"), tax=Decimal("0.5"), net=Decimal("-1E+2"),
              buyer_country="US", buyer_key="bk_" + "0" * 64, updated_at=ON_THE_SECOND),
        OrderLine(external_id="l1", order_external_id="o1", sku="S", title=None, quantity=3,
                  currency="USD", unit_price=Decimal("3.333"), line_total=Decimal("9.999")),
        Refund(external_id="r1", order_external_id="o1", created_at=WHEN, currency="EUR",
               amount=Decimal("0.00"), reason="requested", status=RefundStatus.SUCCEEDED),
        Transaction(external_id="t1", type=TransactionType.FEE, occurred_at=WHEN,
                    currency="JPY", amount=Decimal("-300"), status=TransactionStatus.PENDING,
                    description="fee\nline", related_order_external_id="o1"),
        Payout(external_id="p1", created_at=WHEN, arrival_date=date(2026, 3, 4), currency="USD",
               amount=Decimal("12345678901234.56"), status=PayoutStatus.PAID,
               period_start=ON_THE_SECOND, period_end=None),
        Dispute(external_id="d1", opened_at=WHEN, currency="USD", amount=Decimal("7"),
                status=DisputeStatus.CLOSED, outcome=DisputeOutcome.WON,
                related_charge_external_id="ch"),
    ]  # fmt: skip


def _scope(engine: Engine, account: str) -> tuple[ConnectionScope, int]:
    scope = make_scope(engine, "stripe", account=account)
    return scope, new_run(engine, scope, "charges")


def _stored(engine: Engine, entity: str, connection_id: str) -> dict[str, Any]:
    """The row as the database holds it (driver values, no SQLAlchemy type processing)."""
    with engine.connect() as conn:
        result = conn.exec_driver_sql(
            f"SELECT * FROM {entity} WHERE connection_id = "
            + ("?" if engine.dialect.name == "sqlite" else "%s"),
            (connection_id,),
        )
        rows = [dict(zip(result.keys(), row, strict=True)) for row in result]
    assert len(rows) == 1, rows
    return rows[0]


def test_every_entity_is_stored_as_the_typed_columns_store_it(engine: Engine) -> None:
    records = _records()
    assert {r.entity for r in records} == set(CANONICAL_TABLES)
    fast, run_id = _scope(engine, "acct_fast")
    typed, _ = _scope(engine, "acct_typed")
    write_page(
        engine,
        scope=fast,
        stream="charges",
        run_id=run_id,
        mapping_version=3,
        records=[MappedRecord("x", {"id": "x"}, records)],
        quarantined=[],
        state=StreamStateUpdate(cursor=None, pending=None),
        fetched_at=WHEN,
    )
    with engine.begin() as conn:
        for record in records:
            table = table_of(CANONICAL_TABLES[record.entity])
            conn.execute(
                insert(table).values(
                    **{k: getattr(v, "value", v) for k, v in record.__dict__.items()},
                    tenant_id=typed.tenant_id,
                    seller_id=typed.seller_id,
                    connection_id=typed.connection_id,
                    platform=typed.platform,
                    raw_id=None,
                    run_id=run_id,
                    mapping_version=3,
                    first_seen_at=WHEN,
                    recorded_at=WHEN,
                    version=1,
                    content_hash=content_hash(canonical_content(record)),
                )
            )
    for record in records:
        ours = _stored(engine, record.entity, fast.connection_id)
        theirs = _stored(engine, record.entity, typed.connection_id)
        for column in ("id", "connection_id", "raw_id"):
            ours.pop(column)
            theirs.pop(column)
        assert ours == theirs, record.entity


def test_typed_reads_give_back_what_was_written(engine: Engine) -> None:
    records = _records()
    scope, run_id = _scope(engine, "acct_1")
    write_page(
        engine,
        scope=scope,
        stream="charges",
        run_id=run_id,
        mapping_version=1,
        records=[MappedRecord("x", {"id": "x"}, records)],
        quarantined=[],
        state=StreamStateUpdate(cursor=None, pending=None),
    )
    with engine.connect() as conn:
        for record in records:
            table = table_of(CANONICAL_TABLES[record.entity])
            row = conn.execute(select(table)).one()._mapping
            for name, value in record.__dict__.items():
                assert row[name] == getattr(value, "value", value), (record.entity, name)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (WHEN, "2026-03-01 12:00:05.000120"),
        (ON_THE_SECOND, "2026-03-02 00:00:00.000000"),
        (datetime(2026, 3, 2, 9, 0, tzinfo=TOKYO), "2026-03-02 00:00:00.000000"),
        (None, None),
    ],
)
def test_sqlite_times_are_naive_utc_text_with_microseconds(
    value: datetime | None, stored: str | None
) -> None:
    assert sqlite_time(value) == stored


def test_sqlite_adapters_refuse_what_the_columns_refuse() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sqlite_time(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="finite Decimal"):
        sqlite_money(Decimal("NaN"))
    with pytest.raises(ValueError, match="finite Decimal"):
        sqlite_money(1.5)  # type: ignore[arg-type]
    assert sqlite_money(Decimal("-0.10")) == "-0.10"


def test_membership_is_one_array_parameter_on_postgresql_and_a_marker_list_on_sqlite() -> None:
    keys = [f"k{index}" for index in range(3)]
    assert Dialect.named("postgresql").member_of("external_id", keys) == (
        "external_id = ANY(%s)",
        (keys,),
    )
    assert Dialect.named("sqlite").member_of("external_id", keys) == (
        "external_id IN (?, ?, ?)",
        ("k0", "k1", "k2"),
    )


def test_lookups_are_chunked_on_sqlite_only() -> None:
    keys = list(range(2 * LOOKUP_CHUNK + 1))
    sqlite_chunks = list(Dialect.named("sqlite").lookup_chunks(keys))
    assert [len(chunk) for chunk in sqlite_chunks] == [LOOKUP_CHUNK, LOOKUP_CHUNK, 1]
    assert [key for chunk in sqlite_chunks for key in chunk] == keys
    assert list(Dialect.named("postgresql").lookup_chunks(keys)) == [keys]
    assert list(Dialect.named("sqlite").lookup_chunks([])) == []
    assert list(Dialect.named("postgresql").lookup_chunks([])) == []
