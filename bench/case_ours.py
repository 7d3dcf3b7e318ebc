"""Case (a), ours: map + redact each record, prepare the page and write it as the sync runner does.

Per page, exactly what the sync runner does (``scheduler/runner.py``): the stream's mapping,
``normalizer.pii.redact`` of the stored copy, ``warehouse.page_prep.prepare_page``, then
``write_prepared_in`` in a write transaction: it keeps the raw rows, upserts the canonical rows
with their versions and saves the cursor; after each commit the runner's ``GrowthAnalyzer``
(PostgreSQL statistics as the tables grow). As in the runner, the write runs in a thread behind
the reader (``scheduler.write_behind``): the next page is parsed, mapped and prepared meanwhile,
and the pages that queue up while a write runs commit together in the next transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection as DbConnection
from sqlalchemy import Engine, insert

from bench.generate import Page, iter_pages
from normalizer.context import MappingContext
from normalizer.registry import MAPPING_VERSION
from scheduler.page_mapping import map_records
from scheduler.write_behind import WriteBehind
from sellerhub.memory import freeze_startup_objects
from warehouse.driver_rows import Dialect
from warehouse.engine import make_engine
from warehouse.maintenance import GrowthAnalyzer
from warehouse.metrics import DeferredMarks
from warehouse.migrate import upgrade
from warehouse.page_prep import PreparedPage, prepare_page
from warehouse.tables import Connection, Seller, SyncRun, Tenant, table_of
from warehouse.writer import (
    ConnectionScope,
    MappedRecord,
    PageOutcome,
    QuarantineItem,
    StreamStateUpdate,
    lock_stream,
    write_prepared_in,
)

PLATFORM = "stripe"
TENANT = "bench-tenant"
SELLER = "bench-seller"
CONTEXT = MappingContext(platform=PLATFORM, buyer_hash_key=b"bench-buyer-hash-key-0123456789ab")

MapPage = Callable[[Page], tuple[list[MappedRecord], list[QuarantineItem]]]


def prepare(url: str) -> Engine:
    """Schema and the tenant/seller rows (not timed)."""
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(insert(table_of(Tenant)).values(id=TENANT, name="bench"))
        conn.execute(
            insert(table_of(Seller)).values(id=SELLER, tenant_id=TENANT, reference="s", name="s")
        )
    return engine


class Bookkeeping:
    """Connections and sync runs, created as their first page arrives (like a real sync)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._runs: dict[tuple[str, str], int] = {}

    def run_for(self, account: str, stream: str) -> tuple[ConnectionScope, int]:
        scope = ConnectionScope(TENANT, SELLER, f"conn-{account}", PLATFORM)
        key = (account, stream)
        if key not in self._runs:
            with self._engine.begin() as conn:
                if not any(acct == account for acct, _ in self._runs):
                    conn.execute(
                        insert(table_of(Connection)).values(
                            id=scope.connection_id,
                            tenant_id=TENANT,
                            seller_id=SELLER,
                            platform=PLATFORM,
                            platform_account_id=account,
                        )
                    )
                result = conn.execute(
                    insert(table_of(SyncRun))
                    .values(connection_id=scope.connection_id, stream=stream, trigger="backfill")
                    .returning(table_of(SyncRun).c.id)
                )
                self._runs[key] = int(result.scalar_one())
        return scope, self._runs[key]


def map_page(page: Page) -> tuple[list[MappedRecord], list[QuarantineItem]]:
    """The runner's own mapping step (map, redact the stored copy, quarantine what fails)."""
    return map_records(PLATFORM, page.stream, "id", page.records, CONTEXT)


def cursor_of(page: Page) -> str:
    created = max(int(record["created"]) for record in page.records)
    return datetime.fromtimestamp(created, UTC).isoformat()


def load(engine: Engine, data: Path, page_size: int, mapper: MapPage = map_page) -> int:
    return asyncio.run(_load_behind(engine, data, page_size, mapper))


async def _load_behind(
    engine: Engine,
    data: Path,
    page_size: int,
    mapper: MapPage,
    accounts: Callable[[str], bool] | None = None,
) -> int:
    """As ``SyncRunner._read_stream``: map and prepare a page, then commit it in a thread while
    the next page is read, mapped and prepared; pages that queue up meanwhile commit together
    (``scheduler.write_behind.WriteBehind``)."""
    books = Bookkeeping(engine)
    analyzer = GrowthAnalyzer(engine)  # one per process, as one per SyncRunner
    dialect = Dialect.named(engine.dialect.name)
    writer = WriteBehind(
        engine,
        after_commit=lambda outcomes: analyzer.add(
            sum(outcome.raw_inserted + outcome.rows_inserted for outcome in outcomes)
        ),
    )
    count = 0
    for page in iter_pages(data, page_size, accounts=accounts):
        scope, run_id = books.run_for(page.account, page.stream)
        mapped, quarantined = mapper(page)
        prepared = prepare_page(mapped, dialect)

        def write(
            conn: DbConnection,
            marks: DeferredMarks,
            scope: ConnectionScope = scope,
            run_id: int = run_id,
            page: Page = page,
            prepared: PreparedPage = prepared,
            quarantined: list[QuarantineItem] = quarantined,
        ) -> PageOutcome:
            lock_stream(conn, scope.connection_id, page.stream)
            return write_prepared_in(
                conn,
                scope=scope,
                stream=page.stream,
                run_id=run_id,
                mapping_version=MAPPING_VERSION[PLATFORM],
                page=prepared,
                quarantined=quarantined,
                state=StreamStateUpdate(cursor=cursor_of(page), pending=None),
                deferred_marks=marks,
            )

        await writer.submit(write, records=len(page.records))
        count += len(page.records)
    await writer.drain()
    return count


def run(url: str, data: Path, page_size: int) -> tuple[Callable[[], int], Callable[[], None]]:
    """(timed load, teardown). The collector is set up as ``sellerhub`` processes start."""
    engine = prepare(url)
    freeze_startup_objects()
    return (lambda: load(engine, data, page_size)), engine.dispose
