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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Column, Connection, Date, DateTime, Table

from warehouse.types import ExactDecimal

Adapt = Callable[[Any], Any]


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

    def insert_sql(self, table: Table, columns: Sequence[str]) -> str:
        """Names come from ``warehouse/tables.py``, values only through parameters."""
        marks = ", ".join([self.marker] * len(columns))
        return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608

    def in_list(self, count: int) -> str:
        return ", ".join([self.marker] * count)


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
    ``executemany`` of one ``INSERT``."""
    if not rows:
        return
    if dialect.name != "postgresql":
        conn.exec_driver_sql(dialect.insert_sql(table, columns), list(rows))
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
