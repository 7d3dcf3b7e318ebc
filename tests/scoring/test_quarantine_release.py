"""``renormalize`` maps quarantined records again: what the current mapping accepts is written
as its sync would have written it and leaves the quarantine; a copy a later sync superseded is
dropped without becoming the current version; what is still refused stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

import normalizer.stripe
from normalizer.context import MappingContext
from normalizer.errors import MappingError
from normalizer.registry import MAPPING_VERSION
from scheduler.page_mapping import map_records
from tests.cli.payloads import stripe_charge
from tests.scoring.helpers import make_scope, new_run
from warehouse.history import lineage, rows_as_of
from warehouse.renormalize import renormalize
from warehouse.scoring_tables import MetricsDirty
from warehouse.tables import QuarantinedRecord, RawRecord, SyncRun, table_of
from warehouse.writer import ConnectionScope, StreamStateUpdate, write_page

FETCHED = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)
DAY_2 = 1767312000  # 2026-01-02 00:00:00 UTC
REFUSED = "ch_refused"


def _refusing(raw: dict[str, Any], ctx: MappingContext) -> list[Any]:
    """The charges mapping as it was before a fix: it refused one charge."""
    if raw.get("id") == REFUSED:
        raise MappingError("status: unknown value 'new_status'")
    return normalizer.stripe.map_charges(raw, ctx)


def _sync_page(
    engine: Engine, scope: ConnectionScope, raws: list[Any], fetched_at: datetime, run_id: int
) -> None:
    context = MappingContext(platform="stripe", buyer_hash_key=b"k" * 32)
    mapped, quarantined = map_records("stripe", "charges", "id", raws, context)
    write_page(
        engine,
        scope=scope,
        stream="charges",
        run_id=run_id,
        mapping_version=MAPPING_VERSION["stripe"],
        records=mapped,
        quarantined=quarantined,
        state=StreamStateUpdate(cursor=None, pending=None),
        fetched_at=fetched_at,
    )


def _quarantine(engine: Engine, scope: ConnectionScope) -> list[Any]:
    table = table_of(QuarantinedRecord)
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(table)
                .where(table.c.connection_id == scope.connection_id)
                .order_by(table.c.id)
            )
        )


def _orders(engine: Engine, tenant_id: str) -> dict[str, tuple[str, int]]:
    rows = rows_as_of(engine, "orders", tenant_id=tenant_id, as_of=None)
    return {row["external_id"]: (str(row["gross"]), row["version"]) for row in rows}


def _run(conn: Any, run_id: int) -> dict[str, Any]:
    runs = table_of(SyncRun)
    return dict(conn.execute(select(runs).where(runs.c.id == run_id)).one()._mapping)


def test_a_record_the_fixed_mapping_accepts_leaves_the_quarantine_with_its_lineage(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    scope = make_scope(engine, "stripe", tenant="Release lender")
    run_id = new_run(engine, scope, "charges")
    monkeypatch.setitem(normalizer.stripe.MAPPINGS, "charges", _refusing)
    page = [
        stripe_charge("ch_ok", 1000, "usd", DAY_2),
        stripe_charge(REFUSED, 2550, "usd", DAY_2 + 86400),
        {"object": "charge", "amount": 5},  # no id: refused by any mapping
    ]
    _sync_page(engine, scope, page, FETCHED, run_id)
    assert [row.external_id for row in _quarantine(engine, scope)] == [REFUSED, None]
    assert _orders(engine, scope.tenant_id) == {"ch_ok": ("10.00", 1)}
    with engine.connect() as conn:
        run_before = _run(conn, run_id)
        conn.execute(
            table_of(MetricsDirty)
            .delete()
            .where(table_of(MetricsDirty).c.tenant_id == scope.tenant_id)
        )
        conn.commit()

    monkeypatch.setitem(normalizer.stripe.MAPPINGS, "charges", normalizer.stripe.map_charges)
    report = renormalize(engine, tenant_id=scope.tenant_id, platform="stripe")

    assert (report.quarantine_released, report.quarantine_superseded) == (1, 0)
    assert report.quarantine_kept == 1
    assert report.rows_inserted == 1 and report.changed_by_entity == {"orders": 1}
    assert _orders(engine, scope.tenant_id) == {"ch_ok": ("10.00", 1), REFUSED: ("25.50", 1)}
    (kept,) = _quarantine(engine, scope)
    assert kept.external_id is None and kept.reason == "id: missing record id"  # as it was

    # lineage: the raw row keeps the run that fetched it and the time it was fetched
    found = lineage(engine, "orders", scope.tenant_id, REFUSED)
    assert found["mapping_version"] == MAPPING_VERSION["stripe"]
    assert found["sync_run"]["id"] == run_id
    assert found["raw_record"]["fetched_at"] == FETCHED
    # stored redacted, as the sync stored it: no buyer email
    assert "buyer-ch_refused@example.com" not in repr(found["raw_record"]["payload"])
    # the run reports what it did then, not the release
    with engine.connect() as conn:
        assert _run(conn, run_id) == run_before
        marked = {
            row.day
            for row in conn.execute(
                select(table_of(MetricsDirty)).where(
                    table_of(MetricsDirty).c.tenant_id == scope.tenant_id
                )
            )
        }
    assert marked == {(datetime.fromtimestamp(DAY_2 + 86400, UTC)).date()}

    again = renormalize(engine, tenant_id=scope.tenant_id, platform="stripe")
    assert (again.quarantine_released, again.quarantine_kept, again.rows_inserted) == (0, 1, 0)


def test_a_copy_a_later_sync_superseded_is_dropped_and_never_becomes_current(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    scope = make_scope(engine, "stripe", tenant="Supersede lender")
    monkeypatch.setitem(normalizer.stripe.MAPPINGS, "charges", _refusing)
    old = stripe_charge(REFUSED, 2550, "usd", DAY_2)
    _sync_page(engine, scope, [old], FETCHED, new_run(engine, scope, "charges"))
    assert len(_quarantine(engine, scope)) == 1

    # the mapping is fixed and the next sync fetches a newer copy (partly refunded since)
    monkeypatch.setitem(normalizer.stripe.MAPPINGS, "charges", normalizer.stripe.map_charges)
    newer = stripe_charge(REFUSED, 2550, "usd", DAY_2, refunded=550)
    later = FETCHED + timedelta(hours=1)
    _sync_page(engine, scope, [newer], later, new_run(engine, scope, "charges"))
    current = _orders(engine, scope.tenant_id)

    report = renormalize(engine, tenant_id=scope.tenant_id, platform="stripe")

    assert (report.quarantine_released, report.quarantine_superseded) == (0, 1)
    assert _quarantine(engine, scope) == []
    assert _orders(engine, scope.tenant_id) == current  # still the newer copy, version 1
    with engine.connect() as conn:
        raw = table_of(RawRecord)
        raw_times = [
            row.fetched_at
            for row in conn.execute(select(raw).where(raw.c.connection_id == scope.connection_id))
        ]
    assert raw_times == [later]  # the old copy was not written
