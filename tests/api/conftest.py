"""One running hub (API on loopback + sandbox emulators) per database, shared by the API tests.

Starting the API and the emulators costs about a second, so the hub lives for the whole
package; each test creates its own seller and checks only what that seller's callback did.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sellerhub.runtime import Runtime
from tests.integration.harness import hub_on


@pytest.fixture(
    scope="package",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    home: Path = tmp_path_factory.mktemp(f"hub-{request.param}")
    with hub_on(request.param, home) as runtime:
        yield runtime
