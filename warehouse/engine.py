"""One SQLAlchemy engine per warehouse URL, with the settings each backend needs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

from warehouse.types import dumps_json, loads_json


def make_engine(url: str, **kwargs: Any) -> Engine:
    """SQLite gets WAL, foreign keys and a busy timeout (several processes may sync at once);
    both backends read and write JSON with exact decimals."""
    options: dict[str, Any] = {
        "json_serializer": dumps_json,
        "json_deserializer": loads_json,
        "pool_pre_ping": True,
    }
    if url.startswith("sqlite"):
        database = sqlite_path(url)
        if database is not None:
            database.parent.mkdir(parents=True, exist_ok=True)
        options["connect_args"] = {"timeout": 30, "check_same_thread": False}
    options.update(kwargs)
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` warehouse URL; None for other databases and ``:memory:``."""
    if not url.startswith("sqlite") or "///" not in url:
        return None
    database = url.split("///", 1)[1]
    return Path(database) if database and database != ":memory:" else None


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that takes the write lock up front on SQLite (``BEGIN IMMEDIATE``).

    A deferred SQLite transaction that read before another process committed cannot upgrade
    to a writer and fails at once with "database is locked"; an immediate one waits its turn
    (busy timeout). PostgreSQL transactions are unaffected.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            # pysqlite has not begun anything yet (it begins lazily, before the first write)
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


# Pages of 64 KiB (SQLite's largest) instead of its 4 KiB default. A raw record is about
# 1.2 KB of JSON: in 4 KiB pages two of them filled a page to 60 %; in large pages they pack
# tightly, and a commit writes fewer, larger pages to the WAL. Loading 1M records
# (docs/benchmarks.md) went from 5.6k records/s with 4 KiB pages to 7.0k with 16 KiB and
# 8.0-8.4k with 64 KiB. It only takes effect on a database that has no tables yet
# (https://www.sqlite.org/pragma.html#pragma_page_size), so it is set before anything else.
SQLITE_PAGE_SIZE = 65536


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
