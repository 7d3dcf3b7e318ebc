"""A current version's content is rebuilt from its canonical row (``warehouse.stored_content``):
it must be exactly the content the record had when it was written, on both backends, because
that rebuilt text is what a closed version keeps for good."""

from __future__ import annotations

from collections.abc import Sequence

from alembic import command
from sqlalchemy import Engine, select

from normalizer.context import MappingContext
from normalizer.errors import MappingError
from normalizer.registry import get_mapping
from normalizer.schema import CanonicalRecord, Order, OrderStatus
from tests.emulator_records import amazon_records, stripe_records
from tests.scoring.helpers import make_scope, new_run, write
from tests.warehouse.test_driver_rows import _records
from warehouse.fingerprints import canonical_content, content_text
from warehouse.history import lineage, rows_as_of
from warehouse.migrate import alembic_config
from warehouse.stored_content import row_content, row_content_text
from warehouse.tables import CANONICAL_TABLES, CanonicalVersion, table_of
from warehouse.types import loads_json
from warehouse.writer import ConnectionScope, PageOutcome


def _emulator_records() -> list[CanonicalRecord]:
    records: list[CanonicalRecord] = []
    for platform, raws in (("stripe", stripe_records()), ("amazon", amazon_records())):
        context = MappingContext(platform=platform, buyer_hash_key=b"k" * 32)
        for stream, raw in raws:
            try:
                records.extend(get_mapping(platform, stream)(raw, context))
            except MappingError:  # orders fetched without their included data
                continue
    return records


def _write(
    engine: Engine, scope: ConnectionScope, run_id: int, records: Sequence[CanonicalRecord]
) -> PageOutcome:
    return write(engine, scope, "charges", [[r] for r in records], run_id=run_id)


def _last_by_key(records: Sequence[CanonicalRecord]) -> dict[tuple[str, str], CanonicalRecord]:
    return {(r.entity, r.external_id): r for r in records}  # the last one of a key is stored


def test_the_rebuilt_content_is_the_written_content(engine: Engine) -> None:
    records = [*_records(), *_emulator_records()]
    scope = make_scope(engine, "stripe", account="acct_stored")
    _write(engine, scope, new_run(engine, scope, "charges"), records)
    expected = _last_by_key(records)
    checked = 0
    with engine.connect() as conn:
        for entity, model in CANONICAL_TABLES.items():
            for row in conn.execute(select(table_of(model))):
                record = expected[(entity, row.external_id)]
                mapping = dict(row._mapping)
                assert row_content(entity, mapping) == canonical_content(record), record
                assert (
                    row_content_text(entity, mapping)
                    == content_text(canonical_content(record)).decode()
                )
                checked += 1
    assert checked == len(expected) > 1000
    assert {entity for entity, _ in expected} == set(CANONICAL_TABLES)


def test_a_closed_version_keeps_the_content_it_had_and_reads_agree(engine: Engine) -> None:
    first = _records()
    scope = make_scope(engine, "stripe", account="acct_closed")
    run_id = new_run(engine, scope, "charges")
    _write(engine, scope, run_id, first)
    order = next(r for r in first if isinstance(r, Order))
    changed = order.model_copy(update={"status": OrderStatus.REFUNDED})
    outcome = _write(engine, scope, run_id, [changed])
    assert outcome.rows_updated == 1

    versions = table_of(CanonicalVersion)
    with engine.connect() as conn:
        stored = list(
            conn.execute(
                select(versions).where(versions.c.entity == "orders").order_by(versions.c.version)
            )
        )
    [closed] = stored  # the current version is the orders row itself
    assert closed.valid_to is not None
    assert loads_json(content_text(canonical_content(order))) == closed.content

    # the history read and the lineage give the same fields from either place
    before = rows_as_of(engine, "orders", tenant_id=scope.tenant_id, as_of=closed.valid_from)
    now = rows_as_of(engine, "orders", tenant_id=scope.tenant_id, as_of=None)
    assert [r["status"] for r in before] == ["paid"] and [r["status"] for r in now] == ["refunded"]
    fields = set(Order.model_fields) - {"status"}
    assert {f: before[0][f] for f in fields} == {f: now[0][f] for f in fields}
    assert {f: before[0][f] for f in fields} == {f: getattr(order, f) for f in fields}
    found = lineage(engine, "orders", scope.tenant_id, order.external_id)
    assert [v["content"]["status"] for v in found["versions"]] == ["paid", "refunded"]
    assert found["versions"][1]["content"] == found["current"]


def test_downgrading_below_0007_gives_current_versions_their_content_back(engine: Engine) -> None:
    records = _records()
    scope = make_scope(engine, "stripe", account="acct_down")
    _write(engine, scope, new_run(engine, scope, "charges"), records)
    command.downgrade(alembic_config(engine), "0006")
    versions = table_of(CanonicalVersion)
    with engine.connect() as conn:
        contents = {(v.entity, v.external_id): v.content for v in conn.execute(select(versions))}
    assert contents == {
        (r.entity, r.external_id): loads_json(content_text(canonical_content(r))) for r in records
    }
    command.upgrade(alembic_config(engine), "heads")
