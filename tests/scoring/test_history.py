"""Point-in-time reads and lineage over versions written by the real page writer."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, event

from normalizer.schema import OrderStatus
from tests.scoring.helpers import charge_order, make_scope, new_run, write
from warehouse.history import AmbiguousRow, RowNotFound, lineage, rows_as_of

T1 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)  # first sync
T2 = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)  # the charge was refunded by the second sync
PLACED = datetime(2026, 3, 30, 10, 0, tzinfo=UTC)


def statuses(rows: list[dict[str, object]]) -> dict[object, object]:
    return {row["external_id"]: row["status"] for row in rows}


def test_as_of_returns_what_was_known_at_that_moment(engine: Engine, tenant: str) -> None:
    scope = make_scope(engine, "stripe", tenant=tenant)
    write(engine, scope, "charges", [[charge_order("ch_1", OrderStatus.PAID)]], fetched_at=T1)
    write(engine, scope, "charges", [[charge_order("ch_1", OrderStatus.REFUNDED)]], fetched_at=T2)
    # a third sync that changes nothing adds no version
    write(
        engine,
        scope,
        "charges",
        [[charge_order("ch_1", OrderStatus.REFUNDED)]],
        fetched_at=T2 + timedelta(hours=1),
    )

    def known(at: datetime | None) -> list[dict[str, object]]:
        return rows_as_of(engine, "orders", tenant_id=scope.tenant_id, as_of=at)

    assert known(T1 - timedelta(seconds=1)) == []
    at_first = known(T1)
    assert statuses(at_first) == {"ch_1": "paid"}
    assert statuses(known(T2 - timedelta(microseconds=1))) == {"ch_1": "paid"}
    assert statuses(known(T2)) == {"ch_1": "refunded"}
    now = known(None)
    assert statuses(now) == {"ch_1": "refunded"}
    row = now[0]
    assert (row["version"], row["valid_from"]) == (2, T2)
    assert (row["gross"], row["placed_at"]) == (Decimal("10.50"), PLACED)
    assert (row["seller_id"], row["connection_id"], row["platform"]) == (
        scope.seller_id,
        scope.connection_id,
        "stripe",
    )
    assert row["mapping_version"] == 1 and row["raw_id"] is not None
    assert at_first[0]["raw_id"] != row["raw_id"]  # each version points at its own raw record

    # another tenant sees nothing of it
    assert rows_as_of(engine, "orders", tenant_id="nobody", as_of=None) == []


def test_time_range_and_cursor_pagination(engine: Engine, tenant: str) -> None:
    scope = make_scope(engine, "stripe", tenant=tenant)
    base = datetime(2026, 5, 1, tzinfo=UTC)
    placed = [base + timedelta(hours=i, microseconds=500_000 * (i % 2)) for i in range(7)]
    write(
        engine,
        scope,
        "charges",
        [[charge_order(f"ch_{i}", OrderStatus.PAID, moment)] for i, moment in enumerate(placed)],
    )
    other = make_scope(engine, "amazon", tenant=tenant, account="A9")
    write(engine, other, "orders", [[charge_order("az_1", OrderStatus.OPEN, base)]])

    # since is inclusive, until exclusive, to the microsecond
    found = rows_as_of(
        engine,
        "orders",
        tenant_id=scope.tenant_id,
        as_of=None,
        platform="stripe",
        since=placed[1],
        until=placed[5],
    )
    assert sorted(r["external_id"] for r in found) == ["ch_1", "ch_2", "ch_3", "ch_4"]
    found = rows_as_of(
        engine,
        "orders",
        tenant_id=scope.tenant_id,
        as_of=None,
        since=placed[1] + timedelta(microseconds=1),
        until=placed[3] + timedelta(microseconds=1),
    )
    assert sorted(r["external_id"] for r in found) == ["ch_2", "ch_3"]

    # pages of 3 by the version-row id cover every row exactly once, in order
    seen: list[str] = []
    after: int | None = None
    while True:
        page = rows_as_of(
            engine, "orders", tenant_id=scope.tenant_id, as_of=None, after_id=after, limit=3
        )
        if not page:
            break
        assert [r["id"] for r in page] == sorted(r["id"] for r in page)
        seen.extend(str(r["external_id"]) for r in page)
        after = int(page[-1]["id"])  # type: ignore[call-overload]
    assert sorted(seen) == sorted([f"ch_{i}" for i in range(7)] + ["az_1"])
    assert len(seen) == len(set(seen))

    by_platform = rows_as_of(
        engine, "orders", tenant_id=scope.tenant_id, as_of=None, platform="amazon"
    )
    assert [r["external_id"] for r in by_platform] == ["az_1"]


def test_bad_parameters_are_refused(engine: Engine, tenant: str) -> None:
    with pytest.raises(ValueError, match="unknown entity"):
        rows_as_of(engine, "widgets", tenant_id=tenant, as_of=None)
    with pytest.raises(ValueError, match="no time field"):
        rows_as_of(engine, "accounts", tenant_id=tenant, as_of=None, since=T1)
    with pytest.raises(ValueError, match="timezone"):
        rows_as_of(engine, "orders", tenant_id=tenant, as_of=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="limit"):
        rows_as_of(engine, "orders", tenant_id=tenant, as_of=None, limit=0)


def test_lineage_leads_to_the_raw_record_run_and_every_version(engine: Engine, tenant: str) -> None:
    scope = make_scope(engine, "stripe", tenant=tenant)
    first_run = new_run(engine, scope, "charges")
    second_run = new_run(engine, scope, "charges")
    write(
        engine,
        scope,
        "charges",
        [[charge_order("ch_1", OrderStatus.PAID)]],
        run_id=first_run,
        payloads=[{"id": "ch_1", "status": "succeeded"}],
        fetched_at=T1,
    )
    write(
        engine,
        scope,
        "charges",
        [[charge_order("ch_1", OrderStatus.REFUNDED)]],
        run_id=second_run,
        payloads=[{"id": "ch_1", "status": "succeeded", "refunded": True}],
        fetched_at=T2,
    )
    found = lineage(engine, "orders", scope.tenant_id, "ch_1")
    assert found["connection_id"] == scope.connection_id
    assert found["current"]["status"] == "refunded"
    assert found["raw_record"]["payload"] == {"id": "ch_1", "status": "succeeded", "refunded": True}
    assert found["raw_record"]["stream"] == "charges"
    assert found["sync_run"]["id"] == second_run
    assert found["connector"] == {"platform": "stripe", "stream": "charges"}
    assert found["mapping_version"] == 1
    versions = found["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    assert [v["run_id"] for v in versions] == [first_run, second_run]
    assert versions[0]["content"]["status"] == "paid"
    assert versions[0]["valid_to"] == T2 and versions[1]["valid_to"] is None
    assert versions[0]["content"]["gross"] == Decimal("10.50")

    with pytest.raises(RowNotFound):
        lineage(engine, "orders", "another tenant", "ch_1")
    twin = make_scope(engine, "stripe", tenant=tenant, account="acct_2")
    write(engine, twin, "charges", [[charge_order("ch_1", OrderStatus.PAID)]])
    with pytest.raises(AmbiguousRow):
        lineage(engine, "orders", scope.tenant_id, "ch_1")
    assert lineage(engine, "orders", scope.tenant_id, "ch_1", twin.connection_id)["version"] == 1


def test_lineage_finds_a_row_by_its_natural_key(engine: Engine, tenant: str) -> None:
    """Migration 0006 dropped the canonical tables' tenant_id index: the look-up of a row by
    external id must go through the natural key (connection_id, external_id), not scan."""
    if engine.dialect.name != "sqlite":
        pytest.skip("reads SQLite's query plan")
    scope = make_scope(engine, "stripe", tenant=tenant)
    write(engine, scope, "charges", [[charge_order("ch_1", OrderStatus.PAID)]])
    statements: list[tuple[str, object]] = []

    def capture(_conn: object, _cursor: object, sql: str, params: object, *_: object) -> None:
        if sql.lstrip().upper().startswith("SELECT") and re.search(r"\bFROM orders\b", sql):
            statements.append((sql, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        assert lineage(engine, "orders", scope.tenant_id, "ch_1")["external_id"] == "ch_1"
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert statements, "lineage read no orders row"
    sql, params = statements[0]
    with engine.connect() as conn:
        plan = [str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
    orders_steps = [step for step in plan if " orders " in f"{step} "]
    assert orders_steps, plan
    assert all("(connection_id=? AND external_id=?)" in step for step in orders_steps), plan
