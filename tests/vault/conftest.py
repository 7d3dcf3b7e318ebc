"""Fixtures: master keys, providers, engines on SQLite (always) and PostgreSQL (if reachable).

PostgreSQL: ``SELLERHUB_TEST_POSTGRES_URL`` (default the local ``test`` database); each session
works in a fresh schema, dropped at the end. ``SELLERHUB_REQUIRE_POSTGRES=1`` turns a skip into
a failure (CI).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from vault.keyring import Keyring, KeyringProvider
from vault.keys import LocalKeyProvider
from vault.store import Vault
from warehouse.engine import make_engine

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_url() -> str:
    """The server to test against: SELLERHUB_TEST_POSTGRES_URL, else the local default."""
    return os.environ.get("SELLERHUB_TEST_POSTGRES_URL", DEFAULT_PG_URL)


def _pg_unreachable(url: str) -> str | None:
    """None if a connection works, else why not."""
    engine = sa.create_engine(url, connect_args={"connect_timeout": 2})
    try:
        with engine.connect():
            return None
    except Exception as exc:
        return type(exc).__name__
    finally:
        engine.dispose()


@pytest.fixture
def master_key() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def provider(master_key: bytes) -> LocalKeyProvider:
    return LocalKeyProvider(master_key)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[sa.Engine]:
    """SQLite as the warehouse opens it (WAL, busy timeout): several writers at once."""
    engine = make_engine(f"sqlite:///{tmp_path / 'vault.db'}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_schema_engine() -> Iterator[sa.Engine]:
    """An engine whose search_path is a fresh schema, dropped afterwards (parallel-run safe)."""
    url = _pg_url()
    why = _pg_unreachable(url)
    if why is not None:
        where = sa.make_url(url).render_as_string()  # hides any password
        if os.environ.get("SELLERHUB_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required but not reachable at {where} ({why})")
        pytest.skip(f"PostgreSQL not reachable at {where} ({why}); PostgreSQL tests skipped")
    schema = f"vault_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = sa.create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """Each store test runs on SQLite and on PostgreSQL (skipped when it is not reachable)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_engine")
        return
    pg: sa.Engine = request.getfixturevalue("pg_schema_engine")
    from vault.table import vault_secrets_table

    vault_secrets_table().create(pg, checkfirst=True)
    try:
        yield pg
    finally:
        with pg.begin() as conn:
            conn.execute(vault_secrets_table().delete())


@pytest.fixture
def vault(engine: sa.Engine, provider: LocalKeyProvider) -> Vault:
    v = Vault(engine, provider)
    v.ensure_table()
    return v


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def keyring(home: Path) -> Keyring:
    return Keyring(home, environ={})


@pytest.fixture
def keyring_vault(engine: sa.Engine, keyring: Keyring) -> Vault:
    """A vault on the home's keyring (the ``local`` provider as ``provider_from_env`` builds it)."""
    v = Vault(engine, KeyringProvider(keyring))
    v.ensure_table()
    return v
