"""One migrated warehouse per backend for the package (migrating costs about a second);
every test works in its own tenant, so tests never see each other's rows."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.conftest import create_postgres_database, drop_postgres_database
from warehouse.engine import make_engine
from warehouse.migrate import upgrade


@pytest.fixture(
    scope="package", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "sqlite":
        url, server = f"sqlite:///{tmp_path_factory.mktemp('scoring') / 'warehouse.db'}", None
    else:
        created = create_postgres_database()
        if created is None:
            pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432; PostgreSQL tests skipped")
        url, server = created
    engine = make_engine(url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        if server is not None:
            drop_postgres_database(url, server)


@pytest.fixture
def tenant() -> str:
    return f"Lender {secrets.token_hex(4)}"
