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

Quarantined records are mapped again too (``_release_quarantine``): a mapping fix (say, a
status value the platform added) would otherwise leave them out of the warehouse for good,
since an incremental sync does not fetch them again. One the current mapping accepts is
written as its sync would have written it (raw row with its original run and fetch time,
canonical rows, versions, metrics marks) and leaves the quarantine in the same transaction;
one it still refuses stays, with the current reason.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection as SqlConnection
from sqlalchemy import Engine, delete, func, select, update

from connectors.registry import get_connector
from normalizer.context import MappingContext
from normalizer.errors import MappingError
from normalizer.registry import MAPPING_VERSION, get_mapping
from normalizer.schema import CanonicalRecord
from warehouse.driver_rows import Dialect
from warehouse.engine import write_transaction
from warehouse.mapping_state import mark_up_to_date
from warehouse.page_prep import MappedRecord, prepare_page
from warehouse.tables import Connection, QuarantinedRecord, RawRecord, table_of, utcnow
from warehouse.writer import (
    ConnectionScope,
    PageOutcome,
    lock_stream,
    upsert_canonical,
    write_prepared_in,
)

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
    quarantine_released: int = 0  # quarantined records the current mappings accept, now written
    quarantine_kept: int = 0  # still refused (their reason updated)
    quarantine_superseded: int = 0  # a later sync already brought a newer copy

    def add(self, outcome: PageOutcome) -> None:
        """Count what one written batch changed."""
        self.rows_inserted += outcome.rows_inserted
        self.rows_updated += outcome.rows_updated
        self.rows_unchanged += outcome.rows_unchanged
        for entity, count in outcome.changed_by_entity.items():
            self.changed_by_entity[entity] = self.changed_by_entity.get(entity, 0) + count


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
    Then the stream's quarantined records are mapped again (see the module's docstring).
    """
    report = Report()
    for connection in _connections(engine, tenant_id, platform):
        context = contexts(connection) if contexts else _throwaway_context(connection)
        connector = get_connector(connection.platform)
        failures_before = len(report.failures)
        for declared in connector.streams:
            if stream is not None and declared.name != stream:
                continue
            _renormalize_stream(engine, connection, declared.name, context, report, progress)
            _release_quarantine(engine, connection, declared.name, context, report, progress)
        if stream is None and len(report.failures) == failures_before:
            # every stream went through and every latest raw record mapped
            with engine.begin() as conn:
                mark_up_to_date(conn, connection.id, MAPPING_VERSION[connection.platform])
    return report


def _scope(connection: Connection) -> ConnectionScope:
    return ConnectionScope(
        connection.tenant_id, connection.seller_id, connection.id, connection.platform
    )


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
    scope = _scope(connection)
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
            upsert_canonical(
                conn,
                scope,
                by_entity,
                run_id=None,
                mapping_version=version,
                now=utcnow(),
                outcome=outcome,
            )
        report.raw_records += len(rows)
        report.add(outcome)
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


def _release_quarantine(
    engine: Engine,
    connection: Connection,
    stream: str,
    context: MappingContext,
    report: Report,
    progress: Progress | None,
) -> None:
    """Map the stream's quarantined records again, oldest first, a fetched page at a time."""
    table = table_of(QuarantinedRecord)
    done = 0
    after = 0
    while True:
        with engine.connect() as conn:
            rows = list(
                conn.execute(
                    select(
                        table.c.id,
                        table.c.external_id,
                        table.c.payload,
                        table.c.reason,
                        table.c.run_id,
                        table.c.created_at,
                    )
                    .where(
                        table.c.connection_id == connection.id,
                        table.c.stream == stream,
                        table.c.id > after,
                    )
                    .order_by(table.c.id)
                    .limit(BATCH)
                )
            )
        if not rows:
            return
        after = rows[-1].id
        # the items of one fetched page share their run and their write time
        for (run_id, written_at), page in itertools.groupby(
            rows, key=lambda row: (row.run_id, row.created_at)
        ):
            _release_page(
                engine, connection, stream, context, run_id, written_at, list(page), report
            )
        done += len(rows)
        if progress is not None:
            progress(connection.id, f"{stream} (quarantine)", done)


def _release_page(
    engine: Engine,
    connection: Connection,
    stream: str,
    context: MappingContext,
    run_id: int | None,
    written_at: datetime,
    rows: Sequence[Any],
    report: Report,
) -> None:
    """One fetched page's quarantined records: released, superseded or kept, in one write
    transaction that holds the stream's lock, so a sync cannot land a newer copy in between.

    A record whose key has a raw row fetched after it is superseded (a later sync brought a
    newer copy, already in the warehouse): it leaves the quarantine without being written, so
    an old copy never becomes the current version."""
    mapping = get_mapping(connection.platform, stream)
    fetched_at = written_at if written_at.tzinfo else written_at.replace(tzinfo=UTC)
    table = table_of(QuarantinedRecord)
    with write_transaction(engine) as conn:
        lock_stream(conn, connection.id, stream)
        newer = _fetched_later(conn, connection.id, stream, rows, fetched_at)
        released: list[int] = []
        superseded: list[int] = []
        mapped: list[MappedRecord] = []
        kept = 0
        outcome = PageOutcome()
        for row in rows:
            if row.external_id in newer:
                superseded.append(row.id)
                continue
            payload = row.payload
            if row.external_id is None:  # no record id: nothing to key it by, whatever the mapping
                kept += 1
                continue
            try:
                if not isinstance(payload, dict):
                    kind = type(payload).__name__
                    raise MappingError(f"record: expected a JSON object, got {kind}")
                records = mapping(dict(payload), context)
            except MappingError as error:
                kept += 1
                if (reason := str(error)) != row.reason:
                    conn.execute(update(table).where(table.c.id == row.id).values(reason=reason))
                continue
            # the payload was redacted when it was quarantined: it is stored as it is
            mapped.append(MappedRecord(row.external_id, payload, records))
            released.append(row.id)
        if mapped:
            outcome = write_prepared_in(
                conn,
                scope=_scope(connection),
                stream=stream,
                run_id=run_id,
                mapping_version=MAPPING_VERSION[connection.platform],
                page=prepare_page(mapped, Dialect.of(conn)),
                quarantined=[],
                state=None,
                fetched_at=fetched_at,
                count_in_run=False,
            )
        if released or superseded:
            conn.execute(delete(table).where(table.c.id.in_([*released, *superseded])))
    report.add(outcome)
    report.quarantine_released += len(released)
    report.quarantine_superseded += len(superseded)
    report.quarantine_kept += kept


def _fetched_later(
    conn: SqlConnection, connection_id: str, stream: str, rows: Sequence[Any], moment: datetime
) -> set[str]:
    """The external ids among ``rows`` with a raw row fetched after ``moment``."""
    keys = sorted({row.external_id for row in rows if row.external_id is not None})
    if not keys:
        return set()
    raw = table_of(RawRecord)
    return {
        str(external_id)
        for (external_id,) in conn.execute(
            select(raw.c.external_id)
            .where(
                raw.c.connection_id == connection_id,
                raw.c.stream == stream,
                raw.c.external_id.in_(keys),
                raw.c.fetched_at > moment,
            )
            .distinct()
        )
    }
