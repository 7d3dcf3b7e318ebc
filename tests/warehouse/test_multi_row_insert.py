"""SQLite inserts go in multi-row statements (``warehouse.driver_rows._insert_sqlite``): every
row lands, in order, whatever the count, within the connection's bound-variable limit."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, Text, event, select

from warehouse.driver_rows import SQLITE_ROWS_PER_INSERT, Dialect, insert_rows
from warehouse.engine import make_engine

METADATA = MetaData()
ITEMS = Table(
    "items",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", Text),
    Column("note", Text, nullable=True),
)
COLUMNS = ("id", "name", "note")


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    METADATA.create_all(engine)
    yield engine
    engine.dispose()


def _rows(count: int) -> list[tuple[Any, ...]]:
    return [(n + 1, f"item {n}", None if n % 3 else f"note é {n}") for n in range(count)]


def _statements(engine: Engine, rows: list[tuple[Any, ...]], limit: int | None = None) -> int:
    """Insert ``rows`` in one transaction; the number of INSERT statements it took."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        if args[2].startswith("INSERT INTO items"):
            seen.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        with engine.begin() as conn:
            if limit is not None:
                driver = conn.connection.driver_connection
                assert isinstance(driver, sqlite3.Connection)
                driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
            insert_rows(conn, Dialect.named("sqlite"), ITEMS, COLUMNS, rows)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def _stored(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(ITEMS).order_by(ITEMS.c.id))]


@pytest.mark.parametrize("count", [1, 2, 255, 256, 257, 1000, 1460])
def test_every_row_lands_in_order_in_a_few_statements(sqlite_engine: Engine, count: int) -> None:
    rows = _rows(count)
    statements = _statements(sqlite_engine, rows)
    assert _stored(sqlite_engine) == rows
    # full statements of SQLITE_ROWS_PER_INSERT rows, then one per binary digit of the rest
    full, rest = divmod(count, SQLITE_ROWS_PER_INSERT)
    assert statements == full + bin(rest).count("1")


def test_no_statement_binds_more_variables_than_the_connection_allows(
    sqlite_engine: Engine,
) -> None:
    rows = _rows(50)
    # 3 columns and a limit of 10 variables: 3 rows would fit, the power of two below is 2
    statements = _statements(sqlite_engine, rows, limit=10)
    assert _stored(sqlite_engine) == rows
    assert statements == 25


def test_a_failed_insert_leaves_nothing_of_the_page(sqlite_engine: Engine) -> None:
    rows = _rows(300)
    rows[290] = rows[10]  # a duplicate key in the second statement
    with pytest.raises(Exception, match="UNIQUE"):
        _statements(sqlite_engine, rows)
    assert _stored(sqlite_engine) == []
