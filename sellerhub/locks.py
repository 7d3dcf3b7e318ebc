"""Per-connection refresh locks that hold across processes (``RefreshLock`` implementations).

A rotating refresh token may be spent once; every worker that can refresh a connection's token
must therefore queue on one lock per connection (DESIGN.md, known pitfalls: authlib's lock
covers one client instance only). Two layers:

* in the process, an ``asyncio.Lock`` per connection id (and event loop), so fifty tasks queue
  on the event loop instead of fifty threads or database connections;
* across processes, whoever gets through the first layer takes the warehouse-wide lock:
  on PostgreSQL a session-level advisory lock on a dedicated connection
  (https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS), released
  explicitly and, should the process die, by the server when the connection closes; on SQLite
  an exclusive ``flock`` on a per-connection file beside the database file (SQLite's own write
  lock cannot be used: the token is saved through another connection while the lock is held).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import threading
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import Connection as DbConnection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from connectors.errors import RetryableError
from connectors.http.tokens import RefreshLock

LOCK_NAMESPACE = "sellerhub-refresh:"
DEFAULT_TIMEOUT = 120.0  # seconds: a refresh is one HTTP call; far longer means a stuck holder
_POLL_FIRST, _POLL_MAX = 0.005, 0.1


class RefreshLockTimeout(RetryableError):
    """Another worker held a connection's refresh lock for too long; try the run again later."""


class RefreshLocks(Protocol):
    """Hands out the :class:`RefreshLock` of each connection."""

    def for_connection(self, connection_id: str) -> RefreshLock: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class _Bound:
    """A :class:`RefreshLock`: one connection's lock in a :class:`_Layered` set of locks."""

    locks: _Layered
    key: str

    def hold(self) -> AbstractAsyncContextManager[object]:
        return self.locks.hold(self.key)


@dataclass
class _Slot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class ProcessLocks:
    """One ``asyncio.Lock`` per key and event loop; entries vanish when nobody holds or awaits
    them (asyncio locks belong to one loop, and a runtime may outlive several ``asyncio.run``)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Slot]] = (
            weakref.WeakKeyDictionary()
        )

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        with self._guard:
            slots = self._slots.setdefault(loop, {})
            slot = slots.setdefault(key, _Slot())
            slot.users += 1
        try:
            async with slot.lock:
                yield
        finally:
            with self._guard:
                slot.users -= 1
                if slot.users == 0:
                    slots.pop(key, None)


class CrossProcessLock(Protocol):
    def hold(self, key: str) -> AbstractAsyncContextManager[object]: ...

    def close(self) -> None: ...


class _Layered:
    """The in-process layer in front of an optional cross-process one."""

    def __init__(self, outer: CrossProcessLock | None, kind: str) -> None:
        self._local = ProcessLocks()
        self._outer = outer
        self.kind = kind

    def __repr__(self) -> str:
        return f"RefreshLocks({self.kind})"

    def for_connection(self, connection_id: str) -> RefreshLock:
        return _Bound(self, connection_id)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with self._local.hold(key):
            if self._outer is None:
                yield
                return
            async with self._outer.hold(key):
                yield

    def close(self) -> None:
        if self._outer is not None:
            self._outer.close()


# --------------------------------------------------------------------------- SQLite: flock


class FileLocks:
    """Exclusive ``flock`` on ``<directory>/<sha256(key)>.lock``, polled without blocking so a
    waiting task stays cancellable and holds no thread. A dead holder's lock goes with its
    file descriptor."""

    def __init__(self, directory: Path, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.directory = directory
        self._timeout = timeout

    def _path(self, key: str) -> Path:
        digest = hashlib.sha256((LOCK_NAMESPACE + key).encode()).hexdigest()[:32]
        return self.directory / f"{digest}.lock"

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self._path(key), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await self._acquire(fd, key)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    async def _acquire(self, fd: int, key: str) -> None:
        deadline = time.monotonic() + self._timeout
        wait = _POLL_FIRST
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RefreshLockTimeout(
                        f"the token refresh lock of connection {key} was held for more than "
                        f"{self._timeout:.0f}s by another worker"
                    ) from None
                await asyncio.sleep(wait)
                wait = min(wait * 2, _POLL_MAX)

    def close(self) -> None:
        """Nothing stays open between holds."""


# --------------------------------------------------------------------------- PostgreSQL


class AdvisoryLocks:
    """``pg_advisory_lock(hashtextextended('sellerhub-refresh:' || id, 0))`` on a connection of
    its own (``NullPool``: closing it really ends the session, and with it the lock), so a lock
    held during a refresh never ties up the warehouse pool the token save itself needs.

    The blocking call waits in a worker thread (one per connection and process, thanks to the
    in-process layer) with ``lock_timeout`` as its bound.
    """

    def __init__(self, engine: Engine, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._engine = create_engine(engine.url, poolclass=NullPool)
        self._timeout = timeout

    def __repr__(self) -> str:
        return "AdvisoryLocks()"

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        pending = asyncio.ensure_future(asyncio.to_thread(self._lock, key))
        try:
            connection = await asyncio.shield(pending)
        except BaseException:
            # cancelled while the thread waits: whenever it gets the lock, drop the session
            pending.add_done_callback(_close_when_locked)
            raise
        try:
            yield
        finally:
            await asyncio.to_thread(self._unlock, connection, key)

    def _lock(self, key: str) -> DbConnection:
        connection = self._engine.connect()
        try:
            connection.execute(
                text("SELECT set_config('lock_timeout', :ms, true)"),
                {"ms": f"{int(self._timeout * 1000)}ms"},
            )
            connection.execute(
                text("SELECT pg_advisory_lock(hashtextextended(:key, 0))"),
                {"key": LOCK_NAMESPACE + key},
            )
            connection.commit()  # the lock is session-level: it outlives this transaction
        except DBAPIError as error:
            connection.close()
            if getattr(error.orig, "sqlstate", None) == "55P03":  # lock_not_available
                raise RefreshLockTimeout(
                    f"the token refresh lock of connection {key} was held for more than "
                    f"{self._timeout:.0f}s by another worker"
                ) from None
            raise
        except BaseException:
            connection.close()
            raise
        return connection

    @staticmethod
    def _unlock(connection: DbConnection, key: str) -> None:
        try:
            connection.execute(
                text("SELECT pg_advisory_unlock(hashtextextended(:key, 0))"),
                {"key": LOCK_NAMESPACE + key},
            )
            connection.commit()
        finally:
            connection.close()  # NullPool: the session ends, so the lock is gone either way

    def close(self) -> None:
        self._engine.dispose()


def _close_when_locked(future: asyncio.Future[DbConnection]) -> None:
    if not future.cancelled() and future.exception() is None:
        with contextlib.suppress(Exception):
            future.result().close()


# --------------------------------------------------------------------------- choosing


def sqlite_lock_directory(engine: Engine) -> Path | None:
    """``<database file>-locks`` beside the SQLite file (as SQLite's ``-wal`` is), so every
    process that opens the same file finds the same locks; None for an in-memory database."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    path = Path(database).resolve()
    return path.with_name(path.name + "-locks")


def refresh_locks_for(engine: Engine, *, timeout: float = DEFAULT_TIMEOUT) -> RefreshLocks:
    """The refresh locks that fit the warehouse: advisory locks on PostgreSQL, file locks
    beside a SQLite file, in-process locks only for an in-memory database."""
    if engine.dialect.name == "postgresql":
        return _Layered(AdvisoryLocks(engine, timeout=timeout), "postgresql advisory")
    if engine.dialect.name == "sqlite":
        directory = sqlite_lock_directory(engine)
        if directory is not None:
            return _Layered(FileLocks(directory, timeout=timeout), "file")
    return _Layered(None, "in-process")


def process_local_locks() -> RefreshLocks:
    """In-process locks only (tests, one-off scripts)."""
    return _Layered(None, "in-process")
