"""Shared fixtures: warehouse engines on SQLite and on a real PostgreSQL.

PostgreSQL tests use a throw-away database created on the server named by
``SELLERHUB_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
Without a server they skip with a message, unless ``SELLERHUB_REQUIRE_POSTGRES=1`` (set by
``.ci/run``), where a missing server is an error.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from warehouse.engine import make_engine
from warehouse.migrate import upgrade

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def reference_path(*parts: str) -> Path:
    """A file of the shared reference material, read in place; skip the test when absent."""
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference material absent: {path}")
    return path


def postgres_server_url() -> str | None:
    url = os.environ.get("SELLERHUB_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    try:
        probe = create_engine(url, isolation_level="AUTOCOMMIT")
        with probe.connect() as conn:
            conn.execute(text("SELECT 1"))
        probe.dispose()
    except Exception as error:
        if os.environ.get("SELLERHUB_REQUIRE_POSTGRES") == "1":
            raise RuntimeError(f"PostgreSQL required but not reachable at {url}: {error}") from None
        return None
    return url


def create_postgres_database() -> tuple[str, str] | None:
    """Create a fresh database; returns (its URL, server URL) or None without a server."""
    server = postgres_server_url()
    if server is None:
        return None
    name = f"sellerhub_test_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False), server


def drop_postgres_database(url: str, server: str) -> None:
    name = make_url(url).database
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'warehouse.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    created = create_postgres_database()
    if created is None:
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432; PostgreSQL tests skipped")
    url, server = created
    try:
        yield url
    finally:
        drop_postgres_database(url, server)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs a test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()
