"""The sync runner: reads a connection's streams page by page and commits each page.

The runner, not the connector, owns the cursor: a page's raw rows, canonical rows and the
stream's new state are written in the same transaction (``warehouse.writer``), behind the
reader: the next page is fetched and mapped while the previous one commits, and pages that
queue up meanwhile commit together (``scheduler/write_behind.py``).
Every run is recorded in ``sync_runs`` with its outcome; errors are classified by what to do and
whose fault it is (``connectors.errors``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection as DbConnection
from sqlalchemy import Engine, select, update
from sqlmodel import Session

from connectors.errors import (
    Action,
    ConnectorError,
    Fault,
    ReauthorizationRequired,
    RequestRejected,
)
from connectors.model import Connector, Page, QueryParams, Stream
from connectors.registry import get_connector
from normalizer.context import MappingContext
from normalizer.registry import MAPPING_VERSION
from scheduler import windows
from scheduler.page_mapping import map_records
from scheduler.write_behind import WriteBehind
from warehouse import mapping_state, metrics
from warehouse.consent import note_consent
from warehouse.driver_rows import Dialect
from warehouse.maintenance import GrowthAnalyzer
from warehouse.metrics import DeferredMarks
from warehouse.page_prep import prepare_page
from warehouse.tables import (
    AccountRow,
    Connection,
    SyncEvent,
    SyncRun,
    SyncState,
    table_of,
    utcnow,
)
from warehouse.writer import (
    ConnectionScope,
    PageOutcome,
    StreamStateUpdate,
    lock_stream,
    write_prepared_in,
)

log = logging.getLogger(__name__)


class PageSource(Protocol):
    def pages(self, stream: Stream, params: QueryParams) -> AsyncIterator[Page]: ...


class ClientProvider(Protocol):
    """Opens an authenticated client for a connection (tokens from the vault)."""

    def open(self, connection: Connection) -> AbstractAsyncContextManager[PageSource]: ...


ContextProvider = Callable[[Connection], MappingContext]


@dataclass(frozen=True)
class StreamRunResult:
    run_id: int
    connection_id: str
    stream: str
    status: str
    pages: int
    records: int
    quarantined: int
    rows_inserted: int
    rows_updated: int
    error: str | None = None
    action: str | None = None
    fault: str | None = None


class SyncRunner:
    def __init__(
        self,
        engine: Engine,
        clients: ClientProvider,
        contexts: ContextProvider,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._clients = clients
        self._contexts = contexts
        self._clock = clock
        # one for every run of this runner: statistics follow the tables, not each run
        self._analyzer = GrowthAnalyzer(engine)

    # ------------------------------------------------------------------ connections

    async def sync_connection(
        self,
        connection_id: str,
        *,
        streams: Sequence[str] | None = None,
        trigger: str = "manual",
        on_page: Callable[[str, int], None] | None = None,
    ) -> list[StreamRunResult]:
        """Sync the connection's streams in their declared order; stop on a revoked grant."""
        connection = await asyncio.to_thread(self._load_connection, connection_id)
        if connection.status != "active":
            raise ConnectorError(
                f"connection {connection_id} is {connection.status}: "
                f"{connection.status_reason or 'no reason recorded'}"
            )
        # ops hear once, in sync_events, that the seller must soon (or now) consent again
        await asyncio.to_thread(note_consent, self._engine, connection)
        stale_mapping = mapping_state.reminder(connection)
        if stale_mapping is not None:  # this sync writes only the pages it fetches
            log.warning("connection %s: %s", connection.id, stale_mapping)
        connector = get_connector(connection.platform)
        chosen = [s for s in connector.streams if streams is None or s.name in streams]
        results: list[StreamRunResult] = []
        context = self._contexts(connection)
        async with self._clients.open(connection) as client:
            for stream in chosen:
                result = await self.sync_stream(
                    connection, connector, stream, client, context, trigger, on_page
                )
                results.append(result)
                if result.action == Action.REAUTHORIZE:
                    break
                if stream.name == "account":
                    connection = await asyncio.to_thread(self._refresh_marketplaces, connection)
        # daily metrics: only the days these pages touched are recomputed (never fails a sync)
        await asyncio.to_thread(
            metrics.refresh_after_sync, self._engine, connection.tenant_id, connection.seller_id
        )
        return results

    def _load_connection(self, connection_id: str) -> Connection:
        with Session(self._engine) as session:
            connection = session.get(Connection, connection_id)
            if connection is None:
                raise ConnectorError(f"no connection {connection_id}")
            session.expunge(connection)
            return connection

    def _refresh_marketplaces(self, connection: Connection) -> Connection:
        """Streams that take marketplace ids use the ones the account stream found."""
        with Session(self._engine) as session:
            accounts = table_of(AccountRow)
            ids = [
                str(value)
                for value in session.execute(
                    select(accounts.c.external_id)
                    .where(accounts.c.connection_id == connection.id)
                    .where(accounts.c.status != "closed")
                    .order_by(accounts.c.external_id)
                ).scalars()
            ]
            fresh = session.get(Connection, connection.id)
            assert fresh is not None
            if ids and ids != fresh.marketplace_ids:
                fresh.marketplace_ids = list(ids)
                fresh.updated_at = utcnow()
                session.add(fresh)
                session.commit()
                session.refresh(fresh)
            session.expunge(fresh)
            return fresh

    # ------------------------------------------------------------------ one stream

    async def sync_stream(
        self,
        connection: Connection,
        connector: Connector,
        stream: Stream,
        client: PageSource,
        context: MappingContext,
        trigger: str = "manual",
        on_page: Callable[[str, int], None] | None = None,
    ) -> StreamRunResult:
        run_id = await asyncio.to_thread(self._start_run, connection.id, stream.name, trigger)
        try:
            await self._read_stream(connection, connector, stream, client, context, run_id, on_page)
        except ReauthorizationRequired as error:
            await asyncio.to_thread(self._mark_reauth_required, connection.id, str(error))
            return await asyncio.to_thread(
                self._finish_run, run_id, "failed", str(error), error.action, error.fault
            )
        except ConnectorError as error:
            log.warning("sync %s/%s failed: %s", connection.id, stream.name, error)
            return await asyncio.to_thread(
                self._finish_run, run_id, "failed", str(error), error.action, error.fault
            )
        except Exception as error:
            log.exception("sync %s/%s crashed", connection.id, stream.name)
            message = f"internal error: {type(error).__name__}: {error}"
            return await asyncio.to_thread(
                self._finish_run, run_id, "failed", message, Action.FAIL_RUN, Fault.OURS
            )
        return await asyncio.to_thread(self._finish_run, run_id, "succeeded", None, None, None)

    async def _read_stream(
        self,
        connection: Connection,
        connector: Connector,
        stream: Stream,
        client: PageSource,
        context: MappingContext,
        run_id: int,
        on_page: Callable[[str, int], None] | None,
    ) -> None:
        scope = ConnectionScope(
            tenant_id=connection.tenant_id,
            seller_id=connection.seller_id,
            connection_id=connection.id,
            platform=connection.platform,
        )
        base = dict(stream.params)
        if stream.marketplace_param:
            if not connection.marketplace_ids:
                raise ConnectorError(
                    f"{stream.name} needs the seller's marketplace ids; the account stream "
                    "found none"
                )
            base[stream.marketplace_param] = ",".join(connection.marketplace_ids)
        cursor, pending = await asyncio.to_thread(self._load_state, connection.id, stream.name)

        writer = WriteBehind(
            self._engine,
            after_commit=lambda outcomes: self._analyzer.add(
                sum(outcome.raw_inserted + outcome.rows_inserted for outcome in outcomes)
            ),
        )
        dialect = Dialect.named(self._engine.dialect.name)

        async def commit(page: Page, state: StreamStateUpdate) -> None:
            mapped, quarantined = map_records(
                connector.name, stream.name, stream.primary_key, page.records, context
            )
            prepared = prepare_page(mapped, dialect)

            def write(conn: DbConnection, marks: DeferredMarks) -> PageOutcome:
                lock_stream(conn, scope.connection_id, stream.name)
                return write_prepared_in(
                    conn,
                    scope=scope,
                    stream=stream.name,
                    run_id=run_id,
                    mapping_version=MAPPING_VERSION[connector.name],
                    page=prepared,
                    quarantined=quarantined,
                    state=state,
                    deferred_marks=marks,
                )

            def written(_: PageOutcome) -> None:
                if on_page is not None:
                    on_page(stream.name, len(page.records))

            await writer.submit(write, records=len(page.records), done=written)

        try:
            await self._read_pages(stream, client, base, cursor, pending, commit)
        finally:
            await writer.drain()

    async def _read_pages(
        self,
        stream: Stream,
        client: PageSource,
        base: QueryParams,
        cursor: str | None,
        pending: Any,
        commit: Callable[[Page, StreamStateUpdate], Awaitable[None]],
    ) -> None:
        """Every page of the stream, each handed to ``commit`` with the state that follows it."""
        if stream.cursor is None:
            async for page in client.pages(stream, base):
                done = page.next_params is None
                state = StreamStateUpdate(
                    cursor=windows.format_instant(self._clock()) if done else cursor,
                    pending=None,
                )
                await commit(page, state)
            return

        spec = stream.cursor
        progress = windows.plan_run(spec, cursor, pending, self._clock())
        while True:
            end = windows.window_end(spec, progress)
            params = {**base, **windows.window_params(spec, progress.window_start, end)}
            if progress.resume:
                params.update(progress.resume)
            async for page in self._pages_resuming(client, stream, params, progress.resume):
                if page.next_params is not None:
                    following = windows.Progress(
                        progress.window_start,
                        progress.until,
                        {
                            k: v
                            for k, v in page.next_params.items()
                            if k not in params or params[k] != v
                        },
                    )
                    state = StreamStateUpdate(cursor=cursor, pending=following.to_json())
                elif end < progress.until:
                    state = StreamStateUpdate(
                        cursor=cursor,
                        pending=windows.Progress(end, progress.until).to_json(),
                    )
                else:
                    state = StreamStateUpdate(
                        cursor=windows.next_cursor(cursor, progress.until), pending=None
                    )
                await commit(page, state)
            if end >= progress.until:
                return
            progress = windows.Progress(end, progress.until)

    async def _pages_resuming(
        self,
        client: PageSource,
        stream: Stream,
        params: QueryParams,
        resume: QueryParams | None,
    ) -> AsyncIterator[Page]:
        """Pages of one window. A saved page token can expire (Amazon's after 24 hours); if the
        first request with it is refused, the window is read again from its start, which is
        safe because writes are idempotent."""
        if not resume:
            async for page in client.pages(stream, params):
                yield page
            return
        first = True
        try:
            async for page in client.pages(stream, params):
                first = False
                yield page
        except RequestRejected as refused:
            if not first:
                raise
            log.warning(
                "%s: saved page token refused (%s); re-reading the window", stream.name, refused
            )
            fresh = {k: v for k, v in params.items() if k not in resume}
            async for page in client.pages(stream, fresh):
                yield page

    # ------------------------------------------------------------------ bookkeeping

    def _load_state(self, connection_id: str, stream: str) -> tuple[str | None, Any]:
        with Session(self._engine) as session:
            state = session.get(SyncState, (connection_id, stream))
            if state is None:
                return None, None
            return state.cursor, state.pending

    def _start_run(self, connection_id: str, stream: str, trigger: str) -> int:
        """Record a new run; an earlier run of the stream still marked running died with its
        process (its committed pages stay, and this run resumes from them)."""
        runs = table_of(SyncRun)
        with Session(self._engine) as session:
            session.execute(
                update(runs)
                .where(runs.c.connection_id == connection_id)
                .where(runs.c.stream == stream)
                .where(runs.c.status == "running")
                .values(
                    status="interrupted",
                    finished_at=utcnow(),
                    error="the process ended before the run finished; resumed by a later run",
                    error_action=Action.RETRY,
                    error_fault=Fault.OURS,
                )
            )
            run = SyncRun(connection_id=connection_id, stream=stream, trigger=trigger)
            session.add(run)
            session.commit()
            assert run.id is not None
            return run.id

    def _finish_run(
        self,
        run_id: int,
        status: str,
        error: str | None,
        action: str | None,
        fault: str | None,
    ) -> StreamRunResult:
        with Session(self._engine) as session:
            run = session.get(SyncRun, run_id)
            assert run is not None
            run.status = status
            run.finished_at = datetime.now(UTC)
            run.error = error
            run.error_action = action
            run.error_fault = fault
            session.add(run)
            session.commit()
            return StreamRunResult(
                run_id=run_id,
                connection_id=run.connection_id,
                stream=run.stream,
                status=status,
                pages=run.pages,
                records=run.records,
                quarantined=run.quarantined,
                rows_inserted=run.rows_inserted,
                rows_updated=run.rows_updated,
                error=error,
                action=action,
                fault=fault,
            )

    def _mark_reauth_required(self, connection_id: str, reason: str) -> None:
        with Session(self._engine) as session:
            connections = table_of(Connection)
            changed = session.execute(
                update(connections)
                .where(connections.c.id == connection_id)
                # a disconnect that happened meanwhile stays a disconnect
                .where(connections.c.status == "active")
                .values(status="reauth_required", status_reason=reason, updated_at=utcnow())
            )
            if getattr(changed, "rowcount", 0):
                session.add(
                    SyncEvent(connection_id=connection_id, kind="reauth_required", message=reason)
                )
            session.commit()
