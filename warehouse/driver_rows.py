"""Rows for the database driver's ``executemany``, with values adapted once per column.

The page writer's bulk statements skip SQLAlchemy's per-row bind processing (a third of a
page's write time in ``docs/benchmarks.md``): each value is adapted here the way the column
types in ``warehouse/tables.py`` store it. On SQLite that is ``ExactDecimal`` -> its exact text
and sqlmodel's ``UTCDateTime`` -> naive UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` (SQLAlchemy's
SQLite DATETIME format, which SQL comparisons of times rely on). PostgreSQL's driver takes
``Decimal`` and aware ``datetime`` as they are.

Reads stay with SQLAlchemy's typed statements, so the stored values must be exactly what those
types would have written: ``tests/warehouse/test_driver_rows.py`` checks both paths agree.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from itertools import chain
from typing import Any, TypeVar

from sqlalchemy import Column, Connection, Date, DateTime, Table

from warehouse.types import ExactDecimal

Adapt = Callable[[Any], Any]
T = TypeVar("T")

# keys per look-up statement on SQLite (its variable limit is 32,766 since 3.32, 999 before)
LOOKUP_CHUNK = 500


def sqlite_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def postgres_time(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
    return value


def sqlite_money(value: Decimal | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"money must be a finite Decimal, got {type(value).__name__}")
    return str(value)


def postgres_money(value: Decimal | None) -> Decimal | None:
    if value is not None and (not isinstance(value, Decimal) or not value.is_finite()):
        raise ValueError(f"money must be a finite Decimal, got {type(value).__name__}")
    return value


def sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def plain(value: Any) -> Any:
    """Enums by value (the driver does not know them); everything else as it is."""
    return value.value if isinstance(value, Enum) else value


@dataclass(frozen=True, eq=False)
class Dialect:
    """The driver's parameter marker and the adapters for one backend.

    There are two, ``Dialect.named`` returns them; compared and hashed by identity, because
    ``page_prep.entity_plan`` is looked up with one for every canonical row (a field-by-field
    dataclass hash cost ~0.5 µs per look-up)."""

    name: str
    marker: str
    time: Adapt
    money: Adapt
    day: Adapt

    @classmethod
    def of(cls, conn: Connection) -> Dialect:
        return cls.named(conn.dialect.name)

    @classmethod
    def named(cls, name: str) -> Dialect:
        """``sqlite`` or ``postgresql`` (SQLAlchemy's dialect names)."""
        return _SQLITE if name == "sqlite" else _POSTGRES

    def adapter(self, column: Column[Any]) -> Adapt:
        kind = column.type
        if isinstance(kind, ExactDecimal):
            return self.money
        if isinstance(kind, DateTime) or _is_utc_datetime(kind):
            return self.time
        if isinstance(kind, Date):
            return self.day
        return plain

    def member_of(self, column: str, values: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
        """The condition "``column`` is one of ``values``" and its parameters.

        PostgreSQL gets one array parameter (``= ANY(%s)``: psycopg sends the list as a
        ``text[]``), so the statement is the same whatever the number of values and neither
        psycopg nor the server parses a placeholder per value
        (https://www.postgresql.org/docs/current/functions-comparisons.html#FUNCTIONS-COMPARISONS-ANY-SOME).
        SQLite gets an ``IN`` list of markers; callers keep it within the variable limit
        (``lookup_chunks``)."""
        if self.name == "postgresql":
            return f"{column} = ANY({self.marker})", (list(values),)
        return f"{column} IN ({', '.join([self.marker] * len(values))})", tuple(values)

    def lookup_chunks(self, values: Sequence[T]) -> Iterator[Sequence[T]]:
        """``values`` in look-ups of at most ``LOOKUP_CHUNK`` on SQLite, in one on PostgreSQL."""
        size = len(values) if self.name == "postgresql" else LOOKUP_CHUNK
        for start in range(0, len(values), max(size, 1)):
            yield values[start : start + size]


_SQLITE = Dialect("sqlite", "?", sqlite_time, sqlite_money, sqlite_date)
_POSTGRES = Dialect("postgresql", "%s", postgres_time, postgres_money, plain)


def _is_utc_datetime(kind: Any) -> bool:
    """sqlmodel's ``UTCDateTime`` decorates ``DateTime``."""
    return isinstance(getattr(kind, "impl", None), DateTime)


def executemany(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        conn.exec_driver_sql(sql, list(rows))


def insert_rows(
    conn: Connection, dialect: Dialect, table: Table, columns: Sequence[str], rows: Sequence[Any]
) -> None:
    """Insert new rows. PostgreSQL: ``COPY ... FROM STDIN`` through psycopg, in the open
    transaction (several times faster per row than ``INSERT``s, even pipelined:
    https://www.postgresql.org/docs/current/populate.html#POPULATE-COPY-FROM); SQLite:
    multi-row ``INSERT`` statements (``_insert_sqlite``)."""
    if not rows:
        return
    if dialect.name != "postgresql":
        _insert_sqlite(conn, table, columns, rows)
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


# Rows per multi-row INSERT on SQLite, a power of two: a page's rows go in statements of this
# size and the remainder in smaller powers of two, so a table has a handful of distinct
# statements, each prepared once and kept in the driver's statement cache.
SQLITE_ROWS_PER_INSERT = 256


def _insert_sqlite(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Multi-row ``INSERT ... VALUES (...), (...)`` statements instead of ``executemany``.

    ``executemany`` steps the statement once per row, letting go of the GIL and taking it
    back around each step (https://github.com/python/cpython/blob/3.11/Modules/_sqlite/util.c);
    a statement of many rows binds them all and inserts them in one step. Measured on the
    load benchmark: 2 % fewer instructions per record in all (``docs/benchmarks.md``, eighth
    round). Never more rows than the connection's limit on bound variables allows."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    size = SQLITE_ROWS_PER_INSERT
    while size > 1 and size * len(columns) > limit:
        size //= 2
    names = tuple(columns)
    start = 0
    while start < len(rows):
        while size > len(rows) - start:
            size //= 2
        values = tuple(chain.from_iterable(rows[start : start + size]))
        conn.exec_driver_sql(_multi_row_insert(table.name, names, size), values)
        start += size


@cache
def _multi_row_insert(table_name: str, columns: tuple[str, ...], rows: int) -> str:
    """Names come from ``warehouse/tables.py``, values only through parameters."""
    row = f"({', '.join('?' * len(columns))})"
    return f"INSERT INTO {table_name} ({', '.join(columns)}) VALUES {', '.join([row] * rows)}"  # noqa: S608
