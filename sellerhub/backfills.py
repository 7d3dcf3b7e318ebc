"""Backfills queued by new consents, run in the background of the API process.

Each is an asyncio task on the API's event loop calling :func:`sellerhub.syncing.sync_connections`
for one connection. Ops see it in ``sync_events`` (``backfill_queued``, then ``backfill_finished``
or ``backfill_failed``) and its stream runs in ``sync_runs`` (trigger ``backfill``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlmodel import Session

from sellerhub.runtime import Runtime
from sellerhub.syncing import sync_connections
from warehouse.tables import Connection, SyncEvent

log = logging.getLogger(__name__)


class Backfills:
    """The backfill tasks of one API process, by connection id."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def queue(self, connection: Connection) -> bool:
        """Start a backfill unless one is already running for this connection (call it on the
        API's event loop)."""
        running = self._tasks.get(connection.id)
        if running is not None and not running.done():
            return False
        task = asyncio.get_running_loop().create_task(
            self._run(connection), name=f"backfill-{connection.id}"
        )
        self._tasks[connection.id] = task
        task.add_done_callback(lambda done: self._forget(connection.id, done))
        return True

    def running(self, connection_id: str) -> bool:
        task = self._tasks.get(connection_id)
        return task is not None and not task.done()

    async def cancel(self, connection_id: str) -> None:
        task = self._tasks.get(connection_id)
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(asyncio.shield(task), timeout=10)

    async def shutdown(self) -> None:
        for connection_id in list(self._tasks):
            await self.cancel(connection_id)

    def _forget(self, connection_id: str, done: asyncio.Task[None]) -> None:
        if self._tasks.get(connection_id) is done:
            del self._tasks[connection_id]

    async def _run(self, connection: Connection) -> None:
        try:
            await asyncio.to_thread(
                _event, self._runtime, connection.id, "backfill_queued", "backfill after consent"
            )
            report = await sync_connections(self._runtime, [connection], trigger="backfill")
        except asyncio.CancelledError:
            await asyncio.to_thread(
                _event, self._runtime, connection.id, "backfill_failed", "backfill cancelled"
            )
            raise
        records = sum(result.records for result in report.results)
        if report.ok:
            kind = "backfill_finished"
            message = f"backfill finished: {len(report.results)} streams, {records} records"
        else:
            kind = "backfill_failed"
            reasons = [f"{r.stream}: {r.error}" for r in report.failed] + list(
                report.errors.values()
            )
            message = f"backfill failed: {'; '.join(reasons)}"[:2000]
        log.info("%s %s", connection.id, message)
        await asyncio.to_thread(_event, self._runtime, connection.id, kind, message)


def _event(runtime: Runtime, connection_id: str, kind: str, message: str) -> None:
    with Session(runtime.engine) as session:
        session.add(SyncEvent(connection_id=connection_id, kind=kind, message=message))
        session.commit()
