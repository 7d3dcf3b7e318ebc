"""Write pages behind the reader, and group the pages that queue up into one transaction.

Page N commits in a worker thread while page N+1 is fetched and mapped. When the reader gets
ahead (a fast platform, or a database busy with other writers), the pages it hands over
meanwhile wait, and the next write commits all of them in one transaction ("group commit"):
every commit rewrites the index pages it touched, so fewer, larger commits write less for the
same rows (docs/benchmarks.md: 100-record pages, the platforms' usual size, loaded about a
third slower than 1,000-record pages when each page was its own transaction).

- At most one write is in flight; pages are written in the order they were submitted, each
  with the cursor that follows it, so a cursor never lands before the pages ahead of it.
- A group is all-or-nothing: a crash or an error leaves none of its pages and none of their
  cursors, and the stream resumes from the last committed cursor.
- Once ``max_pending_records`` records are waiting, the reader waits until they are written,
  so memory stays bounded and a group holds at most about that many records (a long
  transaction keeps other writers of a SQLite file waiting).
- A failed write is raised to the reader at its next page or at ``drain``; pages queued behind
  it are dropped, never written.

The database drivers release the GIL while the database works (SQLite's ``sqlite3_step``, a
PostgreSQL round trip), so reading and writing overlap on a machine with two cores or more.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from warehouse.engine import write_transaction
from warehouse.metrics import DeferredMarks

# Records queued before the reader waits: two pages of 1,000 or twenty of 100
# (docs/benchmarks.md, eleventh round: 4,000 held SQLite's write lock too long for two writers).
MAX_PENDING_RECORDS = 2000

# a page's write: it runs in the group's transaction, and leaves the daily-metrics buckets it
# touched to the group's DeferredMarks, marked once before the commit
PageWrite = Callable[[Connection, DeferredMarks], Any]


@dataclass(frozen=True)
class _Queued:
    write: PageWrite
    records: int
    done: Callable[[Any], None] | None


class WriteBehind:
    def __init__(
        self,
        engine: Engine,
        *,
        after_commit: Callable[[list[Any]], object] | None = None,
        max_pending_records: int = MAX_PENDING_RECORDS,
    ) -> None:
        """``after_commit(results)`` runs in the writing thread after each group commits, with
        the results of its pages' writes (the runner's statistics upkeep)."""
        if max_pending_records < 1:
            raise ValueError("max_pending_records must be at least 1")
        self._engine = engine
        self._after_commit = after_commit
        self._limit = max_pending_records
        self._queued: list[_Queued] = []
        self._queued_records = 0
        self._in_flight: asyncio.Future[list[Any]] | None = None
        self._groups: dict[asyncio.Future[list[Any]], list[_Queued]] = {}
        # one thread of its own, so every group of this stream is written by the same thread:
        # the loop's shared pool started the next group on a second thread while the first was
        # still returning to the pool, and the two took turns
        self._thread: ThreadPoolExecutor | None = None
        self._error: BaseException | None = None
        self._scheduled: asyncio.Handle | None = None  # a group start, once the reader yields
        self.groups_written = 0  # transactions committed (a group holds one page or more)

    @property
    def writing(self) -> bool:
        """A group is being written."""
        return self._in_flight is not None

    async def submit(
        self,
        write: PageWrite,
        *,
        records: int,
        done: Callable[[Any], None] | None = None,
    ) -> None:
        """Queue one page's ``write(conn, marks)``, to run inside a write transaction shared
        with the pages queued beside it (``marks``: the group's ``DeferredMarks``, for
        ``write_prepared_in``); ``done(result)`` runs on the event loop once it has committed.

        Returns at once while fewer than ``max_pending_records`` wait. The group starts once the
        reader next yields to the event loop (a sync awaiting the platform's next page), not at
        once: a reader that does not yield (pages already in hand, as in ``sellerhub import`` or
        the load bench) fills the group instead of contending with the write for the GIL, then
        waits here while the full group is written."""
        self._raise_error()
        self._queued.append(_Queued(write, records, done))
        self._queued_records += records
        if self._queued_records < self._limit:
            if self._in_flight is None and self._scheduled is None:
                self._scheduled = asyncio.get_running_loop().call_soon(self._start_scheduled)
            return
        await self._flush()

    async def drain(self) -> None:
        """Wait until every queued page has been written (raising a write's error, once)."""
        try:
            await self._flush()
        finally:
            if self._in_flight is None and self._thread is not None:
                self._thread.shutdown(wait=False)
                self._thread = None

    async def _flush(self) -> None:
        """Write what is queued and wait for it (and for the group in flight)."""
        while self._error is None and (self._queued or self._in_flight is not None):
            if self._in_flight is None:
                self._start_group()
            await self._wait_in_flight()
        self._raise_error()

    def _start_scheduled(self) -> None:
        self._scheduled = None
        if self._in_flight is None and self._queued and self._error is None:
            self._start_group()

    async def _wait_in_flight(self) -> None:
        in_flight = self._in_flight
        if in_flight is None:
            return
        try:
            await asyncio.shield(in_flight)
        except BaseException:
            if not in_flight.done():  # the waiter was cancelled, not the write
                raise
        # awaiting a finished future does not yield to the loop, so its done callback may not
        # have run yet: settle it here (settling is idempotent)
        self._settle(in_flight)

    def _start_group(self) -> None:
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None
        group, self._queued, self._queued_records = self._queued, [], 0
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="write-behind")
        context = contextvars.copy_context()
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().run_in_executor(
            self._thread, context.run, self._write_group, group
        )
        self._groups[future] = group
        future.add_done_callback(self._settle)
        self._in_flight = future

    def _write_group(self, group: list[_Queued]) -> list[Any]:
        marks = DeferredMarks()
        with write_transaction(self._engine) as conn:
            results = [queued.write(conn, marks) for queued in group]
            marks.write(conn)
        self.groups_written += 1
        if self._after_commit is not None:
            self._after_commit(results)
        return results

    def _settle(self, finished: asyncio.Future[list[Any]]) -> None:
        """Once per finished group: record its error (dropping the queue) or run its pages'
        ``done`` callbacks and start the next group."""
        group = self._groups.pop(finished, None)
        if group is None:
            return
        self._in_flight = None
        if finished.cancelled():
            self._error = asyncio.CancelledError()
        elif (error := finished.exception()) is not None:
            self._error = error
        if self._error is not None:
            self._queued, self._queued_records = [], 0
            return
        if self._queued:  # before the callbacks: one that raises must not stall the queue
            self._start_group()
        for queued, result in zip(group, finished.result(), strict=True):
            if queued.done is not None:
                queued.done(result)

    def _raise_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error
