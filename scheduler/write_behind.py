"""Write pages behind the reader: page N commits in a worker thread while page N+1 is fetched
and mapped.

At most one write is in flight and writes start in page order, so a page's cursor is never
saved before the pages ahead of it (each write is still one transaction, see
``warehouse.writer``). A failed write is raised to the reader at its next page or at ``drain``.
The database drivers release the GIL while the database works (SQLite's ``sqlite3_step``, a
PostgreSQL round trip), so the two overlap on a machine with two cores or more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class WriteBehind:
    def __init__(self) -> None:
        self._in_flight: asyncio.Future[Any] | None = None

    async def submit(self, write: Callable[[], Any], done: Callable[[Any], None] | None) -> None:
        """Wait for the previous write, then start ``write`` in a thread; ``done(result)`` runs
        on the event loop once it has committed."""
        await self.drain()
        future = asyncio.ensure_future(asyncio.to_thread(write))
        if done is not None:
            future.add_done_callback(
                lambda finished: (
                    done(finished.result())
                    if not finished.cancelled() and finished.exception() is None
                    else None
                )
            )
        self._in_flight = future

    async def drain(self) -> None:
        """Wait for the write in flight (raising its error, if any)."""
        future, self._in_flight = self._in_flight, None
        if future is not None:
            await asyncio.shield(future)
