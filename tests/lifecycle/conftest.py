"""Fixtures for the token lifecycle: a settable clock, and a hub whose emulators this test
process runs (so child processes can be pointed at them through ``SELLERHUB_SANDBOX_URLS``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from sandbox.server import RunningSandbox, start_sandbox
from sellerhub.runtime import SANDBOX_PLATFORMS, SANDBOX_URLS_ENV, Runtime
from tests.connectors.conftest import Clock
from tests.integration.harness import running_hub
from warehouse.engine import make_engine
from warehouse.migrate import upgrade


@pytest.fixture
def clock() -> Clock:
    return Clock()


@dataclass
class Hub:
    runtime: Runtime
    sandbox: RunningSandbox
    home: Path
    database_url: str

    @property
    def urls(self) -> dict[str, str]:
        return {p: self.sandbox.base_url(p) for p in SANDBOX_PLATFORMS}

    def child_env(self, base: dict[str, str]) -> dict[str, str]:
        """Environment for a child process on this hub's warehouse and emulators."""
        return {
            **base,
            SANDBOX_URLS_ENV: json.dumps(self.urls),
            "DATABASE_URL": self.database_url,
            "SELLERHUB_HOME": str(self.home),
        }

    def admin(self, platform: str, method: str, path: str, body: Any = None) -> Any:
        reply = httpx.request(
            method, f"{self.sandbox.base_url(platform)}/_sandbox{path}", json=body, timeout=30
        )
        reply.raise_for_status()
        return reply.json()

    def stats(self, platform: str) -> dict[str, Any]:
        result: dict[str, Any] = self.admin(platform, "GET", "/stats")
        return result

    def configure(self, platform: str, **values: Any) -> None:
        self.admin(platform, "POST", "/config", values)

    def fault(self, platform: str, **fault: Any) -> Any:
        return self.admin(platform, "POST", "/faults", fault)


@contextmanager
def _hub(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    with start_sandbox(SANDBOX_PLATFORMS, tmp_path / "emulators") as sandbox:
        urls = {p: sandbox.base_url(p) for p in SANDBOX_PLATFORMS}
        monkeypatch.setenv(SANDBOX_URLS_ENV, json.dumps(urls))
        home = tmp_path / "home"
        with running_hub(home, database_url) as runtime:
            yield Hub(runtime, sandbox, home, database_url)


@pytest.fixture
def hub(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    """On SQLite and on PostgreSQL."""
    with _hub(tmp_path, database_url, monkeypatch) as made:
        yield made


@pytest.fixture
def sqlite_hub(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    with _hub(tmp_path, sqlite_url, monkeypatch) as made:
        yield made


@pytest.fixture
def postgres_hub(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Hub]:
    with _hub(tmp_path, postgres_url, monkeypatch) as made:
        yield made


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    yield engine
    engine.dispose()
