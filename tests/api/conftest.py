"""One running hub (API on loopback + sandbox emulators) per database, shared by the API tests.

Starting the API and the emulators costs about a second, so the hub lives for the whole
package; each test creates its own seller and checks only what that seller's callback did.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sellerhub.runtime import Runtime
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.integration.harness import running_hub


@pytest.fixture(
    scope="package",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    home: Path = tmp_path_factory.mktemp(f"hub-{request.param}")
    if request.param == "sqlite":
        with running_hub(home, f"sqlite:///{home / 'warehouse.db'}") as runtime:
            yield runtime
        return
    created = create_postgres_database()
    if created is None:
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432; PostgreSQL tests skipped")
    url, server = created
    try:
        with running_hub(home, url) as runtime:
            yield runtime
    finally:
        drop_postgres_database(url, server)
