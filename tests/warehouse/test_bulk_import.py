"""Bulk import: worker processes prepare, this process writes; the result is a sync's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from normalizer.context import MappingContext
from normalizer.registry import MAPPING_VERSION
from sandbox.common.decjson import dumps
from sellerhub.bulk_import import RawPage, import_pages, pages_of_lines
from tests.emulator_records import stripe_records
from tests.scoring.helpers import make_scope, new_run
from warehouse.tables import (
    CANONICAL_TABLES,
    CanonicalVersion,
    QuarantinedRecord,
    RawRecord,
    SyncRun,
    table_of,
)
from warehouse.writer import ConnectionScope, StreamStateUpdate, write_page

CONTEXT = MappingContext(platform="stripe", buyer_hash_key=b"import-test-key")
LINEAGE = {"id", "connection_id", "raw_id", "run_id", "first_seen_at", "recorded_at"}


def _charges() -> list[dict[str, Any]]:
    return [record for stream, record in stripe_records() if stream == "charges"]


def _scope(engine: Engine, account: str) -> tuple[ConnectionScope, int]:
    scope = make_scope(engine, "stripe", account=account)
    return scope, new_run(engine, scope, "charges")


def _pages(scope: ConnectionScope, run_id: int, lines: list[bytes], size: int) -> Iterator[RawPage]:
    def page(batch: list[bytes], first: int) -> RawPage:
        return RawPage(scope, "charges", "id", run_id, CONTEXT, batch, first)

    return pages_of_lines(lines, size, page)


def _canonical(engine: Engine, connection_id: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for entity, model in CANONICAL_TABLES.items():
            table = table_of(model)
            rows = conn.execute(
                select(table)
                .where(table.c.connection_id == connection_id)
                .order_by(table.c.external_id)
            )
            out[entity] = [
                {k: v for k, v in row._mapping.items() if k not in LINEAGE} for row in rows
            ]
    return out


def test_import_writes_what_the_sync_writer_writes(engine: Engine) -> None:
    from scheduler.page_mapping import map_records

    charges = _charges()
    assert len(charges) > 50
    lines = [dumps(charge).encode() for charge in charges]
    imported, run_id = _scope(engine, "acct_import")
    totals = import_pages(engine, _pages(imported, run_id, lines, 17), workers=2)
    assert totals.records == len(charges)
    assert totals.quarantined == 0

    synced, sync_run = _scope(engine, "acct_sync")
    mapped, quarantined = map_records("stripe", "charges", "id", charges, CONTEXT)
    write_page(
        engine,
        scope=synced,
        stream="charges",
        run_id=sync_run,
        mapping_version=MAPPING_VERSION["stripe"],  # what the import stamps
        records=mapped,
        quarantined=quarantined,
        state=StreamStateUpdate(cursor=None, pending=None),
    )
    ours = _canonical(engine, imported.connection_id)
    theirs = _canonical(engine, synced.connection_id)
    assert len(ours["orders"]) == len(charges)
    assert ours == theirs
    orders = table_of(CANONICAL_TABLES["orders"])
    with engine.connect() as conn:
        runs = conn.execute(
            select(orders.c.run_id).where(orders.c.connection_id == imported.connection_id)
        ).scalars()
        assert set(runs) == {run_id}  # each row names the run that wrote its version
    with Session(engine) as session:
        raw = session.execute(
            select(RawRecord).where(RawRecord.connection_id == imported.connection_id)
        ).scalars()
        assert sorted(r.external_id for r in raw) == sorted(c["id"] for c in charges)
        run = session.get(SyncRun, run_id)
        assert run is not None
        assert (run.records, run.pages) == (len(charges), -(-len(charges) // 17))


def test_bad_lines_are_quarantined_and_the_rest_lands(engine: Engine) -> None:
    charges = _charges()[:5]
    lines = [dumps(c).encode() for c in charges]
    lines[1] = b'{"id": "ch_broken", "object": "charge", "amount": "lots"}'
    lines[3] = b"this is not json"
    lines.insert(2, b"   ")  # blank lines are skipped
    scope, run_id = _scope(engine, "acct_bad")
    totals = import_pages(engine, _pages(scope, run_id, lines, 2), workers=1)
    assert totals.records == 5
    assert totals.quarantined == 2
    with Session(engine) as session:
        reasons = sorted(
            q.reason
            for q in session.execute(
                select(QuarantinedRecord).where(
                    QuarantinedRecord.connection_id == scope.connection_id
                )
            ).scalars()
        )
        orders = table_of(CANONICAL_TABLES["orders"])
        landed = session.execute(
            select(orders.c.external_id).where(orders.c.connection_id == scope.connection_id)
        ).scalars()
        assert sorted(landed) == sorted([charges[0]["id"], charges[2]["id"], charges[4]["id"]])
    assert reasons == ["currency: missing currency code", "line 5: not a JSON object"]


def test_pages_commit_in_file_order_so_the_last_line_wins(engine: Engine) -> None:
    first = _charges()[0]
    later = {**first, "amount_refunded": first["amount"], "refunded": True}
    filler = [dumps(c).encode() for c in _charges()[1:7]]
    lines = [dumps(first).encode(), *filler, dumps(later).encode()]
    scope, run_id = _scope(engine, "acct_order")
    import_pages(engine, _pages(scope, run_id, lines, 1), workers=2)
    orders = table_of(CANONICAL_TABLES["orders"])
    with engine.connect() as conn:
        row = conn.execute(
            select(orders).where(
                orders.c.connection_id == scope.connection_id,
                orders.c.external_id == first["id"],
            )
        ).one()
        versions = conn.execute(
            select(table_of(CanonicalVersion).c.version).where(
                table_of(CanonicalVersion).c.external_id == first["id"],
                table_of(CanonicalVersion).c.entity == "orders",
                table_of(CanonicalVersion).c.connection_id == scope.connection_id,
            )
        ).scalars()
        assert sorted(versions) == [1]  # closed; version 2 is the row itself
    assert row.status == "refunded"
    assert row.version == 2


def test_page_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(pages_of_lines([b"{}"], 0, lambda lines, first: lines))  # type: ignore[arg-type,return-value]
