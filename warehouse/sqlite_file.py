"""Rebuild an existing SQLite warehouse file with the page size new files get.

``warehouse/engine.py`` creates SQLite files with 64 KiB pages: loads run faster with them
(``docs/benchmarks.md``, fourth round: 1M records at 8.0-8.4k records/s against 5.6k with 4 KiB
pages). SQLite fixes a file's page size when its first table is created, so a warehouse created
before that change keeps its 4 KiB pages. Changing it takes a ``VACUUM``, which rewrites the whole
file, and a database in WAL mode has to leave WAL mode for it
(https://www.sqlite.org/pragma.html#pragma_page_size, https://www.sqlite.org/lang_vacuum.html).

The ``VACUUM`` is one transaction under SQLite's rollback journal: a crash or a full disk
leaves the file as it was. SQLite refuses to leave WAL mode while another connection has the
file open, so the rebuild cannot run under a sync or the API server; it says so instead.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from warehouse.engine import SQLITE_PAGE_SIZE

# how long to wait for a connection that is just finishing before calling the file in use
BUSY_TIMEOUT_SECONDS = 5.0


class RebuildRefused(RuntimeError):
    """The file cannot be rebuilt now (missing, in use, not enough disk); nothing changed."""


@dataclass(frozen=True)
class Rebuild:
    path: Path
    page_size_before: int
    page_size_after: int
    bytes_before: int  # the file and its WAL
    bytes_after: int
    rebuilt: bool  # False: the file already had the page size, and was left alone


def rebuild_with_page_size(path: Path, page_size: int = SQLITE_PAGE_SIZE) -> Rebuild:
    """Rewrite ``path`` with ``page_size`` pages, or leave it alone if it has them already."""
    if not path.is_file():
        raise RebuildRefused(f"no SQLite warehouse at {path}")
    before_bytes = _bytes_on_disk(path)
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    try:
        try:  # reading the schema reads the header; PRAGMA page_size alone would not
            connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as error:  # "file is not a database", and the like
            raise RebuildRefused(f"{path} is not a SQLite database ({error})") from None
        before = _page_size(connection)
        if before == page_size:
            return Rebuild(path, before, before, before_bytes, before_bytes, rebuilt=False)
        _check_free_space(path, before_bytes)
        _leave_wal(connection, path)
        try:
            connection.execute(f"PRAGMA page_size = {int(page_size)}")
            connection.execute("VACUUM")
        finally:
            connection.execute("PRAGMA journal_mode = WAL")
        after = _page_size(connection)
        (check,) = connection.execute("PRAGMA quick_check").fetchone()
        if check != "ok":  # VACUUM copies the b-trees; a failure here means the copy is wrong
            raise RuntimeError(f"{path}: integrity check after the rebuild says {check!r}")
    finally:
        connection.close()
    return Rebuild(path, before, after, before_bytes, _bytes_on_disk(path), rebuilt=True)


def _page_size(connection: sqlite3.Connection) -> int:
    (size,) = connection.execute("PRAGMA page_size").fetchone()
    return int(size)


def _bytes_on_disk(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _leave_wal(connection: sqlite3.Connection, path: Path) -> None:
    in_use = RebuildRefused(
        f"{path} is in use by another process (a sync, `sellerhub serve`, a shell): "
        "stop it and run this again"
    )
    try:
        (mode,) = connection.execute("PRAGMA journal_mode = DELETE").fetchone()
    except sqlite3.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            raise in_use from None
        raise
    if str(mode).lower() != "delete":
        raise in_use


def _check_free_space(path: Path, size: int) -> None:
    """``VACUUM`` builds the new file in SQLite's temporary directory and then writes it over
    the old one, keeping the old pages in a rollback journal beside it: about the file's size
    in each place (twice that if they share a file system)."""
    needed: dict[int, tuple[Path, int]] = {}
    for place in (path.resolve().parent, Path(_sqlite_temp_dir())):
        device = os.stat(place).st_dev
        seen_place, seen_need = needed.get(device, (place, 0))
        needed[device] = (seen_place, seen_need + size)
    for place, need in needed.values():
        free = shutil.disk_usage(place).free
        if free < need:
            raise RebuildRefused(
                f"not enough free disk space in {place}: the rebuild needs about "
                f"{_mib(need)} MiB there, {_mib(free)} MiB are free"
            )


def _sqlite_temp_dir() -> str:
    """Where SQLite puts temporary files on Unix: $SQLITE_TMPDIR, $TMPDIR, then /var/tmp,
    /usr/tmp, /tmp (https://www.sqlite.org/tempfiles.html#temporary_file_storage_locations)."""
    for variable in ("SQLITE_TMPDIR", "TMPDIR"):
        value = os.environ.get(variable)
        if value and os.path.isdir(value):
            return value
    # only asked for its free space: nothing is created there
    for directory in ("/var/tmp", "/usr/tmp", "/tmp"):  # noqa: S108
        if os.path.isdir(directory):
            return directory
    return tempfile.gettempdir()


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f}"
