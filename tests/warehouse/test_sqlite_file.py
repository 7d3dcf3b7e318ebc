"""``warehouse.sqlite_file`` and ``sellerhub rebuild-sqlite``: an older SQLite warehouse with
4 KiB pages rewritten with 64 KiB pages, its data unchanged; refused while the file is in use
or the disk is too full, leaving the file as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sellerhub import control
from sellerhub.runtime import Runtime
from sellerhub.settings import Settings
from tests.cli.payloads import stripe_charge
from tests.scoring.helpers import make_scope, warehouse_cli, write_stripe_charges
from warehouse import sqlite_file
from warehouse.engine import SQLITE_PAGE_SIZE, sqlite_path
from warehouse.sqlite_file import RebuildRefused, rebuild_with_page_size

OLD_PAGE_SIZE = 4096


def _old_warehouse(home: Path) -> Path:
    """A warehouse file as sellerhub created them before 64 KiB pages, with synced rows."""
    path = home / "warehouse.db"
    home.mkdir(parents=True)
    with sqlite3.connect(path) as first:  # fixes the page size: WAL mode writes the header
        first.execute(f"PRAGMA page_size = {OLD_PAGE_SIZE}")
        first.execute("PRAGMA journal_mode = WAL")
    first.close()
    runtime = Runtime(Settings(home=home, database_url=f"sqlite:///{path}"))
    try:
        scope = make_scope(runtime.engine, "stripe", tenant="Old Lender")
        (connection,) = control.list_connections(runtime.engine)
        raws = [stripe_charge(f"ch_{i}", 1000 + i, "usd", 1767225600 + 600 * i) for i in range(40)]
        write_stripe_charges(
            runtime.engine, scope, runtime.mapping_context(connection), raws, mapping_version=1
        )
    finally:
        runtime.close()
    assert _pragma(path, "page_size") == OLD_PAGE_SIZE
    return path


def _pragma(path: Path, name: str) -> Any:
    with sqlite3.connect(path) as connection:
        value = connection.execute(f"PRAGMA {name}").fetchone()[0]
    connection.close()
    return value


def _contents(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, in id order where there is one."""
    connection = sqlite3.connect(path)
    try:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {
            table: connection.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()
            for table in tables
        }
    finally:
        connection.close()


def test_an_old_file_is_rewritten_with_large_pages_and_the_same_rows(tmp_path: Path) -> None:
    path = _old_warehouse(tmp_path / "home")
    before = _contents(path)
    assert len(before["raw_records"]) == 40 and len(before["orders"]) == 40

    result = rebuild_with_page_size(path)

    assert result.rebuilt
    assert (result.page_size_before, result.page_size_after) == (OLD_PAGE_SIZE, SQLITE_PAGE_SIZE)
    assert _pragma(path, "page_size") == SQLITE_PAGE_SIZE
    assert _pragma(path, "journal_mode") == "wal"
    assert _pragma(path, "integrity_check") == "ok"
    assert _contents(path) == before
    assert result.bytes_after == path.stat().st_size + (
        path.with_name(path.name + "-wal").stat().st_size
        if path.with_name(path.name + "-wal").exists()
        else 0
    )


def test_a_file_that_has_the_page_size_is_left_alone(tmp_path: Path) -> None:
    path = _old_warehouse(tmp_path / "home")
    rebuild_with_page_size(path)
    written = path.stat().st_mtime_ns
    again = rebuild_with_page_size(path)
    assert not again.rebuilt
    assert again.page_size_before == again.page_size_after == SQLITE_PAGE_SIZE
    assert path.stat().st_mtime_ns == written


def test_a_file_in_use_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = _old_warehouse(tmp_path / "home")
    before = _contents(path)
    other = sqlite3.connect(path)  # another process's connection, e.g. a sync
    try:
        other.execute("SELECT COUNT(*) FROM orders").fetchone()
        with pytest.raises(RebuildRefused, match="in use by another process"):
            rebuild_with_page_size(path)
    finally:
        other.close()
    assert _pragma(path, "page_size") == OLD_PAGE_SIZE
    assert _pragma(path, "journal_mode") == "wal"
    assert _contents(path) == before


def test_too_little_disk_space_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _old_warehouse(tmp_path / "home")
    before = _contents(path)

    class Full:
        free = 1024

    monkeypatch.setattr(sqlite_file.shutil, "disk_usage", lambda _place: Full())
    with pytest.raises(RebuildRefused, match="not enough free disk space"):
        rebuild_with_page_size(path)
    assert _pragma(path, "page_size") == OLD_PAGE_SIZE
    assert _contents(path) == before


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RebuildRefused, match="no SQLite warehouse"):
        rebuild_with_page_size(tmp_path / "nothing.db")
    assert not (tmp_path / "nothing.db").exists()


def test_a_file_that_is_not_a_database_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.db"
    path.write_bytes(b"not a database, just text that a user put here\n" * 200)
    with pytest.raises(RebuildRefused, match="is not a SQLite database"):
        rebuild_with_page_size(path)
    assert path.read_bytes() == b"not a database, just text that a user put here\n" * 200


def test_only_sqlite_file_urls_name_a_file() -> None:
    assert sqlite_path("sqlite:////srv/hub/warehouse.db") == Path("/srv/hub/warehouse.db")
    assert sqlite_path("sqlite:///relative.db") == Path("relative.db")
    assert sqlite_path("sqlite:///:memory:") is None
    assert sqlite_path("sqlite://") is None
    assert sqlite_path("postgresql+psycopg://u@host/db") is None


def test_the_command_rewrites_the_home_warehouse_and_then_has_nothing_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    home = tmp_path / "home"
    path = _old_warehouse(home)
    runner = CliRunner()

    first = runner.invoke(warehouse_cli(), ["rebuild-sqlite", "--home", str(home)])
    assert first.exit_code == 0, first.output
    assert "4 KiB → 64 KiB pages" in first.output
    assert _pragma(path, "page_size") == SQLITE_PAGE_SIZE

    second = runner.invoke(warehouse_cli(), ["rebuild-sqlite", "--home", str(home)])
    assert second.exit_code == 0, second.output
    assert "already has 64 KiB pages: nothing to do" in second.output


def test_the_command_says_why_it_cannot_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/x")
    remote = runner.invoke(warehouse_cli(), ["rebuild-sqlite", "--home", str(tmp_path)])
    assert remote.exit_code == 2
    assert "not a SQLite file" in remote.output
    assert "Traceback" not in remote.output

    monkeypatch.delenv("DATABASE_URL")
    missing = runner.invoke(warehouse_cli(), ["rebuild-sqlite", "--home", str(tmp_path / "empty")])
    assert missing.exit_code == 1
    assert "no SQLite warehouse at" in missing.output
    assert "Traceback" not in missing.output
