"""A fresh, empty database per benchmark case: a SQLite file, or a throw-away PostgreSQL database.

PostgreSQL is the server at ``SELLERHUB_BENCH_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``), as in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Database:
    backend: str  # sqlite | postgres
    url: str  # SQLAlchemy URL

    @property
    def sqlite_path(self) -> Path:
        return Path(make_url(self.url).database or "")

    def libpq_dsn(self) -> str:
        """The URL without SQLAlchemy's driver suffix, for psycopg / psycopg2 / dlt."""
        url = make_url(self.url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)


def postgres_server() -> str | None:
    """The server URL when it answers, else None."""
    url = os.environ.get("SELLERHUB_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    try:
        probe = create_engine(url, isolation_level="AUTOCOMMIT")
        with probe.connect() as conn:
            conn.execute(text("SELECT 1"))
        probe.dispose()
    except Exception as error:
        print(f"PostgreSQL not reachable at {make_url(url)!r}: {type(error).__name__}")
        return None
    return url


def create(backend: str, directory: Path, label: str, server: str | None = None) -> Database:
    if backend == "sqlite":
        database = Database("sqlite", f"sqlite:///{directory / label}.db")
        for leftover in _sqlite_files(database):
            leftover.unlink()
        return database
    if server is None:
        raise RuntimeError("no PostgreSQL server")
    name = f"sellerhub_bench_{label}_{secrets.token_hex(4)}".lower().replace("-", "_")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return Database("postgres", make_url(server).set(database=name).render_as_string(False))


def drop(database: Database, server: str | None = None) -> None:
    if database.backend == "sqlite":
        for path in _sqlite_files(database):
            path.unlink()
        return
    if server is None:
        return
    name = make_url(database.url).database
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def size_bytes(database: Database) -> int:
    """On-disk size after the load (for the report)."""
    if database.backend == "sqlite":
        return sum(path.stat().st_size for path in _sqlite_files(database))
    engine = create_engine(database.url)
    with engine.connect() as conn:
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return int(size)


def _sqlite_files(database: Database) -> list[Path]:
    """The file, its WAL and shared-memory files, and the dataset files dlt attaches to it
    (``<name>__<dataset>.db``)."""
    path = database.sqlite_path
    stem = path.name.removesuffix(".db")
    return [*path.parent.glob(f"{stem}.db*"), *path.parent.glob(f"{stem}__*.db*")]
