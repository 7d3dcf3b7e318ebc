"""One running hub (API + emulators on loopback) per database for the connect-flow tests; each
test makes its own tenant, so tests never see each other's sellers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sellerhub.backfills import Backfills
from sellerhub.runtime import Runtime
from tests.integration.harness import hub_on
from warehouse.tables import Connection


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "backfill: let consents in tests/connect run their real background backfill"
    )


@pytest.fixture(
    scope="package",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    home: Path = tmp_path_factory.mktemp(f"connect-{request.param}")
    with hub_on(request.param, home) as runtime:
        yield runtime


@pytest.fixture(autouse=True)
def backfills_off(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Consents queue a real backfill (several seconds of emulator traffic) only in tests
    marked ``backfill``; elsewhere the queued connection ids are just recorded."""
    queued: list[str] = []
    if request.node.get_closest_marker("backfill") is None:

        def record(_: Backfills, connection: Connection) -> bool:
            queued.append(connection.id)
            return True

        monkeypatch.setattr(Backfills, "queue", record)
    return queued
