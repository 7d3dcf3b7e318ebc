"""Bulk import of raw platform records (JSON lines), normalized in worker processes.

For loads far larger than a sync's pages arrive: a seller's history exported from another
system, or raw records replayed into a fresh warehouse. Each page of lines is parsed, mapped,
redacted and prepared for the database (``warehouse.page_prep``) in a pool of worker processes,
and the pages are written by this process, in file order, one transaction each, exactly as a
sync writes them (``warehouse.writer.write_prepared``): raw rows kept, canonical rows upserted
with versions, malformed records quarantined with their reason. Parsing and mapping is most of
the CPU a page costs; with it in other processes the writer keeps the database busy.

Pages in flight are bounded (two per worker), so memory does not grow with the file.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from connectors.http.body import parse_json_object
from normalizer.context import MappingContext
from normalizer.registry import MAPPING_VERSION
from scheduler.page_mapping import map_records
from sellerhub.memory import freeze_startup_objects
from warehouse.driver_rows import Dialect
from warehouse.maintenance import GrowthAnalyzer
from warehouse.page_prep import PreparedPage, prepare_page
from warehouse.writer import (
    ConnectionScope,
    PageOutcome,
    QuarantineItem,
    StreamStateUpdate,
    write_prepared,
)


@dataclass(frozen=True)
class RawPage:
    """Lines of one connection's stream, each one raw platform record as JSON."""

    scope: ConnectionScope
    stream: str
    primary_key: str
    run_id: int
    context: MappingContext
    lines: list[bytes]
    first_line: int = 1  # for quarantine reasons: the line number in its file
    state: StreamStateUpdate | None = None  # None: the stream's sync cursor is left alone


@dataclass
class ImportTotals:
    pages: int = 0
    records: int = 0
    quarantined: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    by_entity: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: PageOutcome, records: int) -> None:
        self.pages += 1
        self.records += records
        self.quarantined += outcome.quarantined
        self.rows_inserted += outcome.rows_inserted
        self.rows_updated += outcome.rows_updated
        self.rows_unchanged += outcome.rows_unchanged
        for entity, count in outcome.by_entity.items():
            self.by_entity[entity] = self.by_entity.get(entity, 0) + count


@dataclass(frozen=True)
class _Prepared:
    page: PreparedPage
    quarantined: list[QuarantineItem]
    records: int  # non-blank lines


def prepare_raw_page(raw: RawPage, dialect_name: str) -> _Prepared:
    """Parse, map, redact and prepare one page (runs in a worker process)."""
    records: list[Any] = []
    unreadable: list[QuarantineItem] = []
    for number, line in enumerate(raw.lines, start=raw.first_line):
        if not line.strip():
            continue
        parsed = parse_json_object(line)
        if parsed is None:
            reason = f"line {number}: not a JSON object"
            unreadable.append(QuarantineItem(None, reason, {"_line": number}))
            continue
        records.append(parsed)
    mapped, quarantined = map_records(
        raw.context.platform, raw.stream, raw.primary_key, records, raw.context
    )
    prepared = prepare_page(mapped, Dialect.named(dialect_name))
    return _Prepared(prepared, unreadable + quarantined, len(records) + len(unreadable))


def _worker_context() -> multiprocessing.context.BaseContext:
    """``forkserver`` where there is one: workers start from a clean server process that has
    imported the mappings once, not from a fork of this one, which may hold threads (a progress
    bar, a database pool) whose locks a forked child would inherit locked."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def default_workers() -> int:
    """One process per core beyond the writer's, at least one."""
    return max(1, (os.cpu_count() or 2) - 1)


def import_pages(
    engine: Engine,
    pages: Iterable[RawPage],
    *,
    workers: int | None = None,
    on_page: Callable[[RawPage, PageOutcome], None] | None = None,
) -> ImportTotals:
    """Write every page, in order; a page's error stops the import after the pages before it
    have committed (each page is one transaction, so nothing half-written remains)."""
    totals = ImportTotals()
    analyzer = GrowthAnalyzer(engine)
    dialect_name = engine.dialect.name
    count = workers or default_workers()
    context = _worker_context()
    with ProcessPoolExecutor(
        max_workers=count, mp_context=context, initializer=freeze_startup_objects
    ) as pool:
        in_flight: deque[tuple[RawPage, Future[_Prepared]]] = deque()
        try:
            for raw in pages:
                in_flight.append((raw, pool.submit(prepare_raw_page, raw, dialect_name)))
                while len(in_flight) >= 2 * count:
                    _write_next(engine, in_flight, totals, analyzer, on_page)
            while in_flight:
                _write_next(engine, in_flight, totals, analyzer, on_page)
        finally:
            for _, pending in in_flight:
                pending.cancel()
    return totals


def _write_next(
    engine: Engine,
    in_flight: deque[tuple[RawPage, Future[_Prepared]]],
    totals: ImportTotals,
    analyzer: GrowthAnalyzer,
    on_page: Callable[[RawPage, PageOutcome], None] | None,
) -> None:
    raw, future = in_flight.popleft()
    prepared = future.result()
    outcome = write_prepared(
        engine,
        scope=raw.scope,
        stream=raw.stream,
        run_id=raw.run_id,
        mapping_version=MAPPING_VERSION[raw.context.platform],
        page=prepared.page,
        quarantined=prepared.quarantined,
        state=raw.state,
    )
    analyzer.add(outcome.raw_inserted + outcome.rows_inserted)
    totals.add(outcome, prepared.records)
    if on_page is not None:
        on_page(raw, outcome)


def pages_of_lines(
    lines: Iterable[bytes], page_size: int, make: Callable[[list[bytes], int], RawPage]
) -> Iterator[RawPage]:
    """Consecutive lines, ``page_size`` at a time; ``make(lines, first line number)`` builds
    each page (blank lines stay in place and are skipped when the page is read)."""
    if page_size < 1:
        raise ValueError("page size must be at least 1")
    batch: list[bytes] = []
    first = 1
    for number, line in enumerate(lines, start=1):
        if not batch:
            first = number
        batch.append(line)
        if len(batch) >= page_size:
            yield make(batch, first)
            batch = []
    if batch:
        yield make(batch, first)
