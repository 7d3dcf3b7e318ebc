"""Migration 0009: the current version moves out of ``canonical_versions`` into the canonical
row (with its run), and back on downgrade, without changing any point-in-time answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import Engine, func, select, text

from normalizer.schema import OrderStatus
from tests.scoring.helpers import charge_order, make_scope, new_run, write
from warehouse.history import rows_as_of
from warehouse.migrate import alembic_config
from warehouse.tables import CANONICAL_TABLES, CanonicalVersion, table_of

T1 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 5, 2, 9, 0, tzinfo=UTC)


def _answers(engine: Engine, tenant_id: str) -> list[list[dict[str, Any]]]:
    return [
        rows_as_of(engine, "orders", tenant_id=tenant_id, as_of=moment) for moment in (T1, T2, None)
    ]


def test_round_trip_through_0008_keeps_every_version_and_answer(engine: Engine) -> None:
    scope = make_scope(engine, "stripe", account="acct_0009")
    first, second = new_run(engine, scope, "charges"), new_run(engine, scope, "charges")
    orders = [charge_order(f"ch_{n}", OrderStatus.PAID) for n in range(3)]
    write(engine, scope, "charges", [[o] for o in orders], run_id=first, fetched_at=T1)
    refunded = orders[0].model_copy(update={"status": OrderStatus.REFUNDED})
    write(engine, scope, "charges", [[refunded]], run_id=second, fetched_at=T2)
    answers = _answers(engine, scope.tenant_id)
    assert [[row["status"] for row in answer] for answer in answers] == [
        ["paid"] * 3,
        ["refunded", "paid", "paid"],
        ["refunded", "paid", "paid"],
    ]
    table = table_of(CANONICAL_TABLES["orders"])
    with engine.connect() as conn:
        runs = {row[0]: row[1] for row in conn.execute(select(table.c.external_id, table.c.run_id))}
    assert runs == {"ch_0": second, "ch_1": first, "ch_2": first}

    config = alembic_config(engine)
    command.downgrade(config, "0008")
    with engine.connect() as conn:
        rows = list(conn.execute(text(
            "SELECT external_id, version, run_id, content, valid_to FROM canonical_versions"
            " WHERE connection_id = :c ORDER BY external_id, version"
        ), {"c": scope.connection_id}))  # fmt: skip
        columns = {c["name"] for c in _columns(conn, "orders")}
    assert "run_id" not in columns
    # each row's current version is back, open and without content (as 0007-0008 wrote it),
    # with the run that wrote it; the closed version is as it was
    assert [(r.external_id, r.version, r.run_id, r.valid_to is None) for r in rows] == [
        ("ch_0", 1, first, False),
        ("ch_0", 2, second, True),
        ("ch_1", 1, first, True),
        ("ch_2", 1, first, True),
    ]
    assert [r.content is None for r in rows] == [False, True, True, True]

    command.upgrade(config, "heads")
    versions = table_of(CanonicalVersion)
    with engine.connect() as conn:
        closed = [
            tuple(row) for row in conn.execute(select(versions.c.external_id, versions.c.version))
        ]
        runs_after = {
            row[0]: row[1] for row in conn.execute(select(table.c.external_id, table.c.run_id))
        }
        open_versions = conn.execute(
            select(func.count()).select_from(versions).where(versions.c.valid_to.is_(None))
        ).scalar_one()
    assert closed == [("ch_0", 1)] and open_versions == 0
    assert runs_after == runs
    assert _answers(engine, scope.tenant_id) == answers


def _columns(conn: Any, table: str) -> list[dict[str, Any]]:
    return list(conn.dialect.get_columns(conn, table))
