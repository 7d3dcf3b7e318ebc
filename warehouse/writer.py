"""Write one fetched page: raw rows, canonical rows (with versions) and the cursor, atomically.

A crash before the commit leaves nothing of the page; after it, the page and the cursor that
follows it are both there. Re-writing a page that was already written changes nothing: raw rows
are kept once per distinct content, canonical rows only get a new version when their content
changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Table, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from normalizer.schema import CanonicalRecord
from warehouse.driver_rows import Dialect, executemany, insert_rows
from warehouse.engine import write_transaction
from warehouse.metrics import DeferredMarks, mark_dirty
from warehouse.page_prep import (
    MappedRecord as MappedRecord,  # re-exported: the writer's input type
)
from warehouse.page_prep import (
    PreparedPage,
    PreparedRow,
    RawKey,
    entity_plan,
    prepare_page,
    prepare_row,
)
from warehouse.stored_content import row_content_text
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
    after: Mapping[str, Any]  # the new values the metrics hook reads (metrics.change_fields)


@dataclass
class PageOutcome:
    raw_inserted: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    quarantined: int = 0
    by_entity: dict[str, int] = field(default_factory=dict)  # rows written, changed or not
    changed_by_entity: dict[str, int] = field(default_factory=dict)  # inserted or new version


def _table(model: Any) -> Table:
    return table_of(model)


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
    return write_prepared(
        engine,
        scope=scope,
        stream=stream,
        run_id=run_id,
        mapping_version=mapping_version,
        page=prepare_page(records, Dialect.named(engine.dialect.name)),
        quarantined=quarantined,
        state=state,
        fetched_at=fetched_at,
    )


def write_prepared(
    engine: Engine,
    *,
    scope: ConnectionScope,
    stream: str,
    run_id: int,
    mapping_version: int,
    page: PreparedPage,
    quarantined: Sequence[QuarantineItem],
    state: StreamStateUpdate | None,
    fetched_at: datetime | None = None,
) -> PageOutcome:
    """``write_page`` for a page already prepared (``warehouse.page_prep.prepare_page`` with
    this engine's dialect). ``state`` None leaves the stream's sync state as it is (imports)."""
    with write_transaction(engine) as conn:
        lock_stream(conn, scope.connection_id, stream)
        return write_prepared_in(
            conn,
            scope=scope,
            stream=stream,
            run_id=run_id,
            mapping_version=mapping_version,
            page=page,
            quarantined=quarantined,
            state=state,
            fetched_at=fetched_at,
        )


def write_prepared_in(
    conn: Connection,
    *,
    scope: ConnectionScope,
    stream: str,
    run_id: int | None,
    mapping_version: int,
    page: PreparedPage,
    quarantined: Sequence[QuarantineItem],
    state: StreamStateUpdate | None,
    fetched_at: datetime | None = None,
    count_in_run: bool = True,
    deferred_marks: DeferredMarks | None = None,
) -> PageOutcome:
    """``write_prepared``'s work inside the caller's write transaction (which already holds the
    stream's lock: ``lock_stream``). ``count_in_run`` False leaves the run's counters alone: a
    record released from quarantine later keeps its run for lineage without changing what that
    run reported. ``deferred_marks`` collects the page's dirty metrics buckets for the caller to
    mark once at the end of a transaction that writes several pages (see ``DeferredMarks``)."""
    now = fetched_at or utcnow()
    outcome = PageOutcome()
    raw_ids = _write_raw(conn, scope, stream, run_id, page.payloads, now, outcome)
    changes: list[RowChange] = []
    for entity in sorted(page.rows):
        changes.extend(
            _upsert_entity(
                conn,
                scope,
                entity,
                page.rows[entity],
                raw_ids,
                run_id,
                mapping_version,
                now,
                outcome,
            )
        )
    mark_dirty(conn, scope, changes, now, deferred_marks)
    _write_quarantine(conn, scope, stream, run_id, quarantined, now)
    outcome.quarantined = len(quarantined)
    if state is not None:
        save_state(conn, scope.connection_id, stream, state, now)
    if count_in_run and run_id is not None:
        conn.execute(
            update(_table(SyncRun))
            .where(_table(SyncRun).c.id == run_id)
            .values(
                pages=_table(SyncRun).c.pages + 1,
                records=_table(SyncRun).c.records + page.records,
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


RAW_COLUMNS = (
    "id", "connection_id", "stream", "external_id", "payload", "payload_hash", "fetched_at",
    "run_id",
)  # fmt: skip


def _write_raw(
    conn: Connection,
    scope: ConnectionScope,
    stream: str,
    run_id: int | None,
    payloads: Mapping[tuple[str, str], str],
    now: datetime,
    outcome: PageOutcome,
) -> dict[tuple[str, str], int]:
    """Ids of the page's raw rows: existing ones looked up, missing ones inserted with ids
    allocated up front (no ``RETURNING`` round trip per row)."""
    dialect = Dialect.of(conn)
    ids: dict[tuple[str, str], int] = {}
    external_ids = sorted({key[0] for key in payloads})
    marker = dialect.marker
    for chunk in dialect.lookup_chunks(external_ids):
        among, keys = dialect.member_of("external_id", chunk)
        rows = conn.exec_driver_sql(
            f"SELECT id, external_id, payload_hash FROM raw_records WHERE connection_id = {marker}"  # noqa: S608
            f" AND stream = {marker} AND {among}",
            (scope.connection_id, stream, *keys),
        )
        for row_id, external_id, digest in rows:
            if (external_id, digest) in payloads:
                ids[(external_id, digest)] = row_id
    missing = sorted(key for key in payloads if key not in ids)
    if not missing:
        return ids
    fetched_at = dialect.time(now)
    new_ids = _allocate_ids(conn, "raw_records", len(missing))
    rows_to_insert = []
    for row_id, key in zip(new_ids, missing, strict=True):
        ids[key] = row_id
        rows_to_insert.append(
            (row_id, scope.connection_id, stream, key[0], payloads[key], key[1], fetched_at, run_id)
        )
    insert_rows(conn, dialect, _table(RawRecord), RAW_COLUMNS, rows_to_insert)
    outcome.raw_inserted += len(missing)
    return ids


def _allocate_ids(conn: Connection, table: str, count: int) -> list[int]:
    """``count`` fresh primary keys of ``table``. On SQLite the caller holds the write lock
    (``BEGIN IMMEDIATE``), so the ids after ``MAX(id)`` are ours; on PostgreSQL they come from
    the column's sequence."""
    if conn.dialect.name == "sqlite":
        top = conn.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) FROM {table}").scalar_one()  # noqa: S608
        return list(range(int(top) + 1, int(top) + 1 + count))
    rows = conn.exec_driver_sql(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
        (table, count),
    )
    return sorted(int(row[0]) for row in rows)


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
    dialect = Dialect.of(conn)
    changes: list[RowChange] = []
    for entity in sorted(by_entity):
        rows = {
            key: prepare_row(record, dialect, None, raw_id)
            for key, (record, raw_id) in by_entity[entity].items()
        }
        changes.extend(
            _upsert_entity(conn, scope, entity, rows, {}, run_id, mapping_version, now, outcome)
        )
    mark_dirty(conn, scope, changes, now)
    return changes


@dataclass(frozen=True)
class _Current:
    id: int
    version: int
    content_hash: str


def _current_rows(
    conn: Connection, dialect: Dialect, table: str, connection_id: str, keys: Sequence[str]
) -> dict[str, _Current]:
    found: dict[str, _Current] = {}
    for chunk in dialect.lookup_chunks(keys):
        among, params = dialect.member_of("external_id", chunk)
        rows = conn.exec_driver_sql(
            f"SELECT id, external_id, version, content_hash FROM {table} "  # noqa: S608
            f"WHERE connection_id = {dialect.marker} AND {among}",
            (connection_id, *params),
        )
        for row_id, external_id, version, digest in rows:
            found[external_id] = _Current(int(row_id), int(version), digest)
    return found


def _rows_before(conn: Connection, table: Table, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The full typed rows about to change (what the metrics hook compares with)."""
    before: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(ids, 500):
        for row in conn.execute(select(table).where(table.c.id.in_(chunk))):
            before[row.id] = dict(row._mapping)
    return before


def _upsert_entity(
    conn: Connection,
    scope: ConnectionScope,
    entity: str,
    rows: Mapping[str, PreparedRow],
    raw_ids: Mapping[RawKey, int],
    run_id: int | None,
    mapping_version: int,
    now: datetime,
    outcome: PageOutcome,
) -> list[RowChange]:
    dialect = Dialect.of(conn)
    plan = entity_plan(entity, dialect)
    keys = sorted(rows)
    existing = _current_rows(conn, dialect, plan.table_name, scope.connection_id, keys)
    now_value = dialect.time(now)
    owner = (scope.tenant_id, scope.seller_id, scope.connection_id, scope.platform, now_value)

    new_rows: list[tuple[Any, ...]] = []
    updated_rows: list[tuple[Any, ...]] = []
    changed: list[tuple[PreparedRow, _Current | None]] = []
    for key in keys:
        row = rows[key]
        current = existing.get(key)
        if current is not None and current.content_hash == row.content_hash:
            outcome.rows_unchanged += 1
            continue
        raw_id = raw_ids[row.raw_key] if row.raw_key is not None else row.raw_id
        version = 1 if current is None else current.version + 1
        # the canonical row is the current version, lineage included (migration 0009)
        lineage = (raw_id, run_id, mapping_version, now_value, version, row.content_hash)
        if current is None:
            new_rows.append((*owner, *lineage, *row.fields))
        else:
            updated_rows.append((*lineage, *row.fields, current.id))
        changed.append((row, current))

    table = _table(CANONICAL_TABLES[entity])
    before = _rows_before(conn, table, [c.id for _, c in changed if c is not None])
    closed_versions = [
        _closed_version(entity, before[c.id], dialect, now_value)
        for _, c in changed
        if c is not None
    ]
    insert_rows(conn, dialect, table, plan.insert_columns, new_rows)
    executemany(conn, plan.update_sql, updated_rows)
    insert_rows(conn, dialect, _table(CanonicalVersion), VERSION_COLUMNS, closed_versions)
    outcome.rows_inserted += len(new_rows)
    outcome.rows_updated += len(updated_rows)
    outcome.by_entity[entity] = outcome.by_entity.get(entity, 0) + len(rows)
    if changed:
        outcome.changed_by_entity[entity] = outcome.changed_by_entity.get(entity, 0) + len(changed)
    return [
        RowChange(entity, row.external_id, None if c is None else before[c.id], row.values)
        for row, c in changed
    ]


VERSION_COLUMNS = (
    "entity", "connection_id", "external_id", "version", "content_hash", "content", "raw_id",
    "run_id", "mapping_version", "valid_from", "valid_to",
)  # fmt: skip


def _closed_version(
    entity: str, before: Mapping[str, Any], dialect: Dialect, closed_at: Any
) -> tuple[Any, ...]:
    """The version a canonical row had until now, for ``canonical_versions``: its content and
    lineage as the row held them, current from its ``recorded_at`` until ``closed_at``."""
    return (
        entity, before["connection_id"], before["external_id"], before["version"],
        before["content_hash"], row_content_text(entity, before), before["raw_id"],
        before["run_id"], before["mapping_version"], dialect.time(before["recorded_at"]),
        closed_at,
    )  # fmt: skip


def _write_quarantine(
    conn: Connection,
    scope: ConnectionScope,
    stream: str,
    run_id: int | None,
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


T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
