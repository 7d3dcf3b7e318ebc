"""Rebuild canonical rows from the stored raw records with the current mappings.

After a mapping changes (and its platform's ``MAPPING_VERSION`` is bumped), the latest stored
raw record of every (connection, stream, external id) is mapped again and written through the
page writer's upsert: a row whose content is unchanged is left alone, a changed row gets a new
version stamped with the current mapping version, and the daily-metrics buckets it touches are
marked dirty (run ``warehouse.metrics.refresh`` afterwards).

The stored raw payload is redacted (``normalizer.pii``): buyer identifiers are already replaced
by their keyed hash, and mapping a redacted record gives the same canonical rows as the
original, by design.

"Latest" is the raw row inserted last for the key (raw rows are kept once per distinct
content). One limit: if a platform sends content A, then B, then A again, the third fetch
reuses A's older row, so B counts as the latest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from connectors.registry import get_connector
from normalizer.context import MappingContext
from normalizer.errors import MappingError
from normalizer.registry import MAPPING_VERSION, get_mapping
from normalizer.schema import CanonicalRecord
from warehouse.tables import Connection, RawRecord, table_of, utcnow
from warehouse.writer import ConnectionScope, PageOutcome, lock_stream, upsert_canonical

BATCH = 500
ContextProvider = Callable[[Connection], MappingContext]
Progress = Callable[[str, str, int], None]  # connection id, stream, raw records done


@dataclass(frozen=True)
class Failure:
    connection_id: str
    stream: str
    external_id: str
    reason: str


@dataclass
class Report:
    raw_records: int = 0
    rows_inserted: int = 0  # rows the old mappings never produced
    rows_updated: int = 0  # rows that got a new version
    rows_unchanged: int = 0
    failures: list[Failure] = field(default_factory=list)
    changed_by_entity: dict[str, int] = field(default_factory=dict)


def renormalize(
    engine: Engine,
    *,
    tenant_id: str | None = None,
    platform: str | None = None,
    stream: str | None = None,
    progress: Progress | None = None,
    contexts: ContextProvider | None = None,
) -> Report:
    """Map the latest raw record of every key again; one transaction per batch.

    ``contexts`` gives each connection's mapping context (``Runtime.mapping_context``: the
    tenant's buyer-hash key). Without it a context with a throw-away key is used, which is
    enough because stored payloads hold buyer keys, never identifiers. A record the current
    mapping refuses is reported in ``Report.failures``; its canonical rows stay as they were.
    """
    report = Report()
    for connection in _connections(engine, tenant_id, platform):
        context = contexts(connection) if contexts else _throwaway_context(connection)
        connector = get_connector(connection.platform)
        for declared in connector.streams:
            if stream is not None and declared.name != stream:
                continue
            _renormalize_stream(engine, connection, declared.name, context, report, progress)
    return report


def _throwaway_context(connection: Connection) -> MappingContext:
    import secrets

    return MappingContext(platform=connection.platform, buyer_hash_key=secrets.token_bytes(32))


def _connections(engine: Engine, tenant_id: str | None, platform: str | None) -> list[Connection]:
    table = table_of(Connection)
    query = select(table).order_by(table.c.id)
    if tenant_id is not None:
        query = query.where(table.c.tenant_id == tenant_id)
    if platform is not None:
        query = query.where(table.c.platform == platform)
    with engine.connect() as conn:
        return [Connection.model_validate(dict(row._mapping)) for row in conn.execute(query)]


def _renormalize_stream(
    engine: Engine,
    connection: Connection,
    stream: str,
    context: MappingContext,
    report: Report,
    progress: Progress | None,
) -> None:
    mapping = get_mapping(connection.platform, stream)
    version = MAPPING_VERSION[connection.platform]
    scope = ConnectionScope(
        connection.tenant_id, connection.seller_id, connection.id, connection.platform
    )
    raw = table_of(RawRecord)
    latest = (
        select(func.max(raw.c.id).label("id"))
        .where(raw.c.connection_id == connection.id, raw.c.stream == stream)
        .group_by(raw.c.external_id)
    ).subquery()
    done = 0
    after = 0
    while True:
        with engine.connect() as conn:
            ids = [
                row.id
                for row in conn.execute(
                    select(latest.c.id)
                    .where(latest.c.id > after)
                    .order_by(latest.c.id)
                    .limit(BATCH)
                )
            ]
            if not ids:
                return
            rows = list(
                conn.execute(
                    select(raw.c.id, raw.c.external_id, raw.c.payload)
                    .where(raw.c.id.in_(ids))
                    .order_by(raw.c.id)
                )
            )
        after = ids[-1]
        by_entity = _map(rows, mapping, context, connection, stream, report)
        outcome = PageOutcome()
        with engine.begin() as conn:
            lock_stream(conn, connection.id, stream)
            changes = upsert_canonical(
                conn,
                scope,
                by_entity,
                run_id=None,
                mapping_version=version,
                now=utcnow(),
                outcome=outcome,
            )
        for change in changes:
            report.changed_by_entity[change.entity] = (
                report.changed_by_entity.get(change.entity, 0) + 1
            )
        report.raw_records += len(rows)
        report.rows_inserted += outcome.rows_inserted
        report.rows_updated += outcome.rows_updated
        report.rows_unchanged += outcome.rows_unchanged
        done += len(rows)
        if progress is not None:
            progress(connection.id, stream, done)


def _map(
    rows: Sequence[Any],
    mapping: Callable[[dict[str, Any], MappingContext], list[CanonicalRecord]],
    context: MappingContext,
    connection: Connection,
    stream: str,
    report: Report,
) -> dict[str, dict[str, tuple[CanonicalRecord, int | None]]]:
    """Rows in raw-id order, so a key produced by several raw records ends as the sync left it
    (the later record wins, as within a page)."""
    by_entity: dict[str, dict[str, tuple[CanonicalRecord, int | None]]] = {}
    for row in rows:
        try:
            records = mapping(dict(row.payload), context)
        except MappingError as error:
            report.failures.append(Failure(connection.id, stream, row.external_id, str(error)))
            continue
        for record in records:
            by_entity.setdefault(record.entity, {})[record.external_id] = (record, row.id)
    return by_entity
