"""Write one fetched page: raw rows, canonical rows (with versions) and the cursor, atomically.

A crash before the commit leaves nothing of the page; after it, the page and the cursor that
follows it are both there. Re-writing a page that was already written changes nothing: raw rows
are kept once per distinct content, canonical rows only get a new version when their content
changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from normalizer.schema import CanonicalRecord
from warehouse.engine import write_transaction
from warehouse.metrics import mark_dirty
from warehouse.tables import (
    CANONICAL_TABLES,
    CanonicalVersion,
    QuarantinedRecord,
    RawRecord,
    SyncRun,
    SyncState,
    table_of,
    utcnow,
)


@dataclass(frozen=True)
class ConnectionScope:
    tenant_id: str
    seller_id: str
    connection_id: str
    platform: str


@dataclass(frozen=True)
class MappedRecord:
    """A raw record (already stripped of buyer PII) and what it maps to."""

    external_id: str
    payload: Mapping[str, Any]
    canonical: Sequence[CanonicalRecord]


@dataclass(frozen=True)
class QuarantineItem:
    external_id: str | None
    reason: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class StreamStateUpdate:
    cursor: str | None
    pending: Mapping[str, Any] | None


@dataclass(frozen=True)
class RowChange:
    """A canonical row that was inserted or got a new version (what the metrics hook sees)."""

    entity: str
    external_id: str
    before: Mapping[str, Any] | None  # the row as it was; None for a new row
    after: Mapping[str, Any]  # the canonical values written


@dataclass
class PageOutcome:
    raw_inserted: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    quarantined: int = 0
    by_entity: dict[str, int] = field(default_factory=dict)


def _table(model: Any) -> Table:
    return table_of(model)


def canonical_content(record: CanonicalRecord) -> dict[str, Any]:
    """The record's fields as JSON-ready values (decimals as exact strings, times RFC 3339)."""
    content: dict[str, Any] = {}
    for name, value in record.model_dump().items():
        content[name] = _json_value(value)
    return content


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def content_hash(content: Mapping[str, Any]) -> str:
    """Hash of the canonical content; ``10.0`` and ``10.00`` are the same amount."""
    normalized = {
        key: _normalize_number_text(value) if isinstance(value, str) else value
        for key, value in content.items()
    }
    return _digest(normalized)


def _digest(value: Any) -> str:
    """SHA-256 of a canonical JSON text. The C encoder of the standard library, with decimals
    as their exact text: hashing does not need them as JSON numbers (storage does)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=_hash_default)
    return hashlib.sha256(text.encode()).hexdigest()


def _hash_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return "d:" + str(value)
    raise TypeError(f"cannot hash a {type(value).__name__}")


def _normalize_number_text(value: str) -> str:
    try:
        number = Decimal(value)
    except ArithmeticError:
        return value
    if not number.is_finite() or not value.replace(".", "", 1).lstrip("-").isdigit():
        return value
    return format(number.normalize(), "f")


def payload_hash(payload: Mapping[str, Any]) -> str:
    return _digest(payload)


def write_page(
    engine: Engine,
    *,
    scope: ConnectionScope,
    stream: str,
    run_id: int,
    mapping_version: int,
    records: Sequence[MappedRecord],
    quarantined: Sequence[QuarantineItem],
    state: StreamStateUpdate,
    fetched_at: datetime | None = None,
) -> PageOutcome:
    """Commit one page in one transaction and return what changed."""
    now = fetched_at or utcnow()
    outcome = PageOutcome()
    with write_transaction(engine) as conn:
        lock_stream(conn, scope.connection_id, stream)
        hashes = [payload_hash(record.payload) for record in records]
        raw_ids = _write_raw(conn, scope, stream, run_id, records, hashes, now, outcome)
        by_entity: dict[str, dict[str, tuple[CanonicalRecord, int | None]]] = {}
        for record, digest in zip(records, hashes, strict=True):
            raw_id = raw_ids[(record.external_id, digest)]
            for canonical in record.canonical:
                # the last occurrence in a page wins (a page may repeat an id)
                by_entity.setdefault(canonical.entity, {})[canonical.external_id] = (
                    canonical,
                    raw_id,
                )
        upsert_canonical(
            conn,
            scope,
            by_entity,
            run_id=run_id,
            mapping_version=mapping_version,
            now=now,
            outcome=outcome,
        )
        _write_quarantine(conn, scope, stream, run_id, quarantined, now)
        outcome.quarantined = len(quarantined)
        save_state(conn, scope.connection_id, stream, state, now)
        conn.execute(
            update(_table(SyncRun))
            .where(_table(SyncRun).c.id == run_id)
            .values(
                pages=_table(SyncRun).c.pages + 1,
                records=_table(SyncRun).c.records + len(records),
                quarantined=_table(SyncRun).c.quarantined + len(quarantined),
                rows_inserted=_table(SyncRun).c.rows_inserted + outcome.rows_inserted,
                rows_updated=_table(SyncRun).c.rows_updated + outcome.rows_updated,
            )
        )
    return outcome


def lock_stream(conn: Connection, connection_id: str, stream: str) -> None:
    """Serialize writers of one stream on PostgreSQL (SQLite serializes all writers anyway)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"sellerhub:{connection_id}:{stream}"},
        )


def _write_raw(
    conn: Connection,
    scope: ConnectionScope,
    stream: str,
    run_id: int,
    records: Sequence[MappedRecord],
    hashes: Sequence[str],
    now: datetime,
    outcome: PageOutcome,
) -> dict[tuple[str, str], int]:
    raw = _table(RawRecord)
    wanted = {(r.external_id, h): r for r, h in zip(records, hashes, strict=True)}
    ids: dict[tuple[str, str], int] = {}
    external_ids = sorted({key[0] for key in wanted})
    for chunk in _chunks(external_ids, 500):
        rows = conn.execute(
            select(raw.c.id, raw.c.external_id, raw.c.payload_hash).where(
                raw.c.connection_id == scope.connection_id,
                raw.c.stream == stream,
                raw.c.external_id.in_(chunk),
            )
        )
        for row in rows:
            key = (row.external_id, row.payload_hash)
            if key in wanted:
                ids[key] = row.id
    missing = sorted(key for key in wanted if key not in ids)
    if missing:
        values = [
            {
                "connection_id": scope.connection_id,
                "stream": stream,
                "external_id": key[0],
                "payload": dict(wanted[key].payload),
                "payload_hash": key[1],
                "fetched_at": now,
                "run_id": run_id,
            }
            for key in missing
        ]
        result = conn.execute(
            insert(raw).returning(
                raw.c.id, raw.c.external_id, raw.c.payload_hash, sort_by_parameter_order=True
            ),
            values,
        )
        for row in result:
            ids[(row.external_id, row.payload_hash)] = row.id
        outcome.raw_inserted += len(missing)
    return ids


def upsert_canonical(
    conn: Connection,
    scope: ConnectionScope,
    by_entity: Mapping[str, Mapping[str, tuple[CanonicalRecord, int | None]]],
    *,
    run_id: int | None,
    mapping_version: int,
    now: datetime,
    outcome: PageOutcome,
) -> list[RowChange]:
    """Upsert canonical rows (entity -> external id -> (record, raw id)) inside ``conn``'s
    transaction: unchanged content is left alone, changed content gets a new version. The
    daily-metrics buckets the changes touch are marked dirty in the same transaction."""
    changes: list[RowChange] = []
    for entity in sorted(by_entity):
        changes.extend(
            _upsert_entity(
                conn, scope, entity, by_entity[entity], run_id, mapping_version, now, outcome
            )
        )
    mark_dirty(conn, scope, changes, now)
    return changes


def _upsert_entity(
    conn: Connection,
    scope: ConnectionScope,
    entity: str,
    records: Mapping[str, tuple[CanonicalRecord, int | None]],
    run_id: int | None,
    mapping_version: int,
    now: datetime,
    outcome: PageOutcome,
) -> list[RowChange]:
    table = _table(CANONICAL_TABLES[entity])
    versions = _table(CanonicalVersion)
    keys = sorted(records)
    existing: dict[str, Any] = {}
    for chunk in _chunks(keys, 500):
        for row in conn.execute(
            select(table).where(
                table.c.connection_id == scope.connection_id, table.c.external_id.in_(chunk)
            )
        ):
            existing[row.external_id] = row

    new_rows: list[dict[str, Any]] = []
    changed: list[tuple[Any, dict[str, Any]]] = []
    version_rows: list[dict[str, Any]] = []
    changes: list[RowChange] = []
    for key in keys:
        record, raw_id = records[key]
        content = canonical_content(record)
        digest = content_hash(content)
        current = existing.get(key)
        if current is not None and current.content_hash == digest:
            outcome.rows_unchanged += 1
            continue
        version = 1 if current is None else current.version + 1
        values = {
            **_row_values(record),
            "raw_id": raw_id,
            "mapping_version": mapping_version,
            "recorded_at": now,
            "version": version,
            "content_hash": digest,
        }
        version_rows.append(
            {
                "entity": entity,
                "connection_id": scope.connection_id,
                "external_id": key,
                "version": version,
                "content_hash": digest,
                "content": content,
                "raw_id": raw_id,
                "run_id": run_id,
                "mapping_version": mapping_version,
                "valid_from": now,
                "valid_to": None,
            }
        )
        changes.append(
            RowChange(entity, key, None if current is None else dict(current._mapping), values)
        )
        if current is None:
            new_rows.append(
                {
                    **values,
                    "tenant_id": scope.tenant_id,
                    "seller_id": scope.seller_id,
                    "connection_id": scope.connection_id,
                    "platform": scope.platform,
                    "first_seen_at": now,
                }
            )
        else:
            changed.append((current, values))

    if new_rows:
        conn.execute(insert(table), new_rows)
        outcome.rows_inserted += len(new_rows)
    for current, values in changed:
        conn.execute(update(table).where(table.c.id == current.id).values(**values))
        conn.execute(
            update(versions)
            .where(
                and_(
                    versions.c.entity == entity,
                    versions.c.connection_id == scope.connection_id,
                    versions.c.external_id == values["external_id"],
                    versions.c.valid_to.is_(None),
                )
            )
            .values(valid_to=now)
        )
    outcome.rows_updated += len(changed)
    if version_rows:
        conn.execute(insert(versions), version_rows)
    outcome.by_entity[entity] = outcome.by_entity.get(entity, 0) + len(records)
    return changes


def _row_values(record: CanonicalRecord) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in record.model_dump().items():
        values[name] = value.value if isinstance(value, Enum) else value
    return values


def _write_quarantine(
    conn: Connection,
    scope: ConnectionScope,
    stream: str,
    run_id: int,
    items: Sequence[QuarantineItem],
    now: datetime,
) -> None:
    if not items:
        return
    conn.execute(
        insert(_table(QuarantinedRecord)),
        [
            {
                "connection_id": scope.connection_id,
                "stream": stream,
                "external_id": item.external_id,
                "reason": item.reason,
                "payload": dict(item.payload),
                "run_id": run_id,
                "created_at": now,
            }
            for item in items
        ],
    )


def save_state(
    conn: Connection,
    connection_id: str,
    stream: str,
    state: StreamStateUpdate,
    now: datetime | None = None,
) -> None:
    table = _table(SyncState)
    values = {
        "connection_id": connection_id,
        "stream": stream,
        "cursor": state.cursor,
        "pending": dict(state.pending) if state.pending is not None else None,
        "updated_at": now or utcnow(),
    }
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(table).values(**values)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["connection_id", "stream"],
            set_={
                "cursor": statement.excluded.cursor,
                "pending": statement.excluded.pending,
                "updated_at": statement.excluded.updated_at,
            },
        )
    )


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
