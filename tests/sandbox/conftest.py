"""Emulators started for a test module or a single test, over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.server import RunningSandbox, start_sandbox

StartSandbox = Callable[..., RunningSandbox]


@pytest.fixture
def make_sandbox(tmp_path: Path) -> Iterator[StartSandbox]:
    """Start emulators on a state dir (default: this test's tmp dir); all stopped afterwards."""
    started: list[RunningSandbox] = []

    def start(
        platforms: tuple[str, ...] = ("amazon", "stripe"),
        state_dir: Path | None = None,
        **kwargs: Any,
    ) -> RunningSandbox:
        sandbox = start_sandbox(list(platforms), state_dir or tmp_path / "state", **kwargs)
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture(scope="module")
def shared_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """One pair of emulators for a module's read-only tests."""
    with start_sandbox(["amazon", "stripe"], tmp_path_factory.mktemp("sandbox")) as sandbox:
        yield sandbox


@pytest.fixture
def amazon(shared_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shared_sandbox.base_url("amazon"), timeout=10) as client:
        yield client


@pytest.fixture
def stripe(shared_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shared_sandbox.base_url("stripe"), timeout=10) as client:
        yield client
