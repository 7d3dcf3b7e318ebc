"""SQLite settings the engine applies to every connection."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from warehouse.engine import SQLITE_PAGE_SIZE, make_engine
from warehouse.migrate import upgrade


def _pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


def test_a_new_database_gets_large_pages_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    assert SQLITE_PAGE_SIZE != 4096  # SQLite's default: the setting must change something
    assert _pragma(path, "page_size") == SQLITE_PAGE_SIZE
    assert _pragma(path, "journal_mode") == "wal"


def test_an_existing_database_keeps_its_page_size(tmp_path: Path) -> None:
    """The pragma cannot convert a database that already has tables; it must not break it."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA page_size=4096")
        conn.execute("CREATE TABLE kept (id INTEGER PRIMARY KEY)")
        conn.execute("INSERT INTO kept VALUES (7)")
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT id FROM kept").scalar_one() == 7
    engine.dispose()
    assert _pragma(path, "page_size") == 4096
