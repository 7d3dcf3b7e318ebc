"""A page made ready for the database, without the database.

Everything the page writer needs that does not depend on what is already stored is computed
here: each raw payload's stored text and hash, and for each canonical record its content hash
and its column values adapted for the driver (the current version's content is the row itself:
``warehouse/stored_content.py``). Doing this
before the write transaction keeps the lock short, and lets a caller prepare the next page
while the previous one is being written (``scheduler/runner.py``, ``bench/case_ours.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from normalizer.schema import ENTITY_MODELS, CanonicalRecord
from warehouse.driver_rows import Dialect
from warehouse.fingerprints import (
    PLAIN_SCALARS,
    canonical_content,
    content_hash,
    normalized_content_hash,
    payload_text,
    text_hash,
)
from warehouse.metrics import change_fields
from warehouse.row_parts import RowPartsFunction, compile_row_parts
from warehouse.tables import CANONICAL_TABLES, table_of

RawKey = tuple[str, str]  # (external id, payload hash)

OWNER_COLUMNS = ("tenant_id", "seller_id", "connection_id", "platform", "first_seen_at")
LINEAGE_COLUMNS = (
    "raw_id", "run_id", "mapping_version", "recorded_at", "version", "content_hash",
)  # fmt: skip


@dataclass(frozen=True)
class MappedRecord:
    """A raw record (already stripped of buyer PII) and what it maps to."""

    external_id: str
    payload: Mapping[str, Any]
    canonical: Sequence[CanonicalRecord]


class PreparedRow(NamedTuple):
    """One canonical record, ready to be compared with the stored row and written. A named
    tuple of plain values: bulk imports send pages between processes, and tuples pickle fast."""

    entity: str
    external_id: str
    content_hash: str
    fields: tuple[Any, ...]  # the schema fields' column values, in EntityPlan order
    values: dict[str, Any]  # what the metrics hook reads (warehouse.metrics.change_fields)
    raw_key: RawKey | None  # the page's raw record it came from
    raw_id: int | None = None  # or a stored raw row, when re-normalizing


@dataclass(frozen=True, slots=True)
class PreparedPage:
    payloads: dict[RawKey, str]  # stored text of each distinct raw record
    rows: dict[str, dict[str, PreparedRow]]  # entity -> external id -> row (last one wins)
    records: int  # raw records in the page


@dataclass(frozen=True)
class EntityPlan:
    """How one entity's records become driver rows: its schema fields, each with its column's
    adapter, and the statements that use them."""

    table_name: str
    field_names: tuple[str, ...]
    adapters: tuple[Callable[[Any], Any], ...]
    insert_columns: tuple[str, ...]
    update_sql: str
    row_parts: RowPartsFunction  # (hash input, field_values) in one pass

    def field_values(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """Strings, integers and nulls go as they are; decimals, times, dates and enums
        through their column's adapter."""
        return tuple(
            [
                value if (value := values[name]).__class__ in PLAIN_SCALARS else adapt(value)
                for name, adapt in zip(self.field_names, self.adapters, strict=True)
            ]
        )


@cache
def entity_plan(entity: str, dialect: Dialect) -> EntityPlan:
    table = table_of(CANONICAL_TABLES[entity])
    field_names = tuple(ENTITY_MODELS[entity].model_fields)
    expected = {c.name for c in table.columns} - {"id"}
    declared = set(OWNER_COLUMNS) | set(LINEAGE_COLUMNS) | set(field_names)
    if declared != expected:  # a schema change that forgot the table (or the reverse)
        raise RuntimeError(f"{entity}: columns {sorted(expected ^ declared)} do not match")
    marker = dialect.marker
    adapters = tuple(dialect.adapter(table.c[name]) for name in field_names)
    assignments = ", ".join(f"{name} = {marker}" for name in (*LINEAGE_COLUMNS, *field_names))
    return EntityPlan(
        table_name=table.name,
        field_names=field_names,
        adapters=adapters,
        insert_columns=(*OWNER_COLUMNS, *LINEAGE_COLUMNS, *field_names),
        update_sql=f"UPDATE {table.name} SET {assignments} WHERE id = {marker}",  # noqa: S608
        row_parts=compile_row_parts(field_names, adapters),
    )


def prepare_row(
    record: CanonicalRecord, dialect: Dialect, raw_key: RawKey | None, raw_id: int | None = None
) -> PreparedRow:
    plan = entity_plan(record.entity, dialect)
    values = record.__dict__
    parts = plan.row_parts(values)
    if parts is None:
        digest = content_hash(canonical_content(record))
        fields = plan.field_values(values)
    else:
        hashed, fields = parts
        digest = normalized_content_hash(hashed)
    return PreparedRow(
        record.entity,
        record.external_id,
        digest,
        fields,
        {name: values[name] for name in change_fields(record.entity)},
        raw_key,
        raw_id,
    )


def prepare_page(records: Sequence[MappedRecord], dialect: Dialect) -> PreparedPage:
    payloads: dict[RawKey, str] = {}
    rows: dict[str, dict[str, PreparedRow]] = {}
    for record in records:
        stored = payload_text(record.payload)
        key = (record.external_id, text_hash(stored))
        payloads[key] = stored.decode()
        for canonical in record.canonical:
            # the last occurrence in a page wins (a page may repeat an id)
            rows.setdefault(canonical.entity, {})[canonical.external_id] = prepare_row(
                canonical, dialect, key
            )
    return PreparedPage(payloads=payloads, rows=rows, records=len(records))
