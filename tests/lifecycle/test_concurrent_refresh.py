"""Many workers, one connection, an access token the platform has expired and a refresh token
that rotates: exactly one refresh at the emulator and no ``invalid_grant``, within one process
(50 syncs at once) and across two OS processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from connectors.registry import get_connector
from scheduler.runner import StreamRunResult
from sellerhub import control
from sellerhub.runtime import Runtime
from sellerhub.syncing import make_runner, sync_connections
from tests.integration.harness import connect
from tests.lifecycle.conftest import Hub
from tests.lifecycle.test_no_secret_leaks import assert_dump_has_no_token
from warehouse.tables import Connection

pytestmark = pytest.mark.slow  # emulators over loopback, child processes

REPO = Path(__file__).resolve().parents[2]


def assert_synced(outcomes: list[tuple[str, str | None]]) -> None:
    """Every sync succeeded (none lost its grant, none collided with another's writes)."""
    failures = [error for status, error in outcomes if status != "succeeded"]
    assert not failures, failures[:3]


def replaced(now: dict[str, Any], before: dict[str, Any], field: str) -> bool:
    """Token values must not reach test output: callers assert on this result held in a
    variable, so pytest's explanation shows neither the dicts nor the tokens."""
    changed: bool = bool(now.get(field)) and now.get(field) != before.get(field)
    return changed


def refreshes(stats: dict[str, Any]) -> int:
    return int(stats["token_requests"].get("refresh_token", 0))


async def sync_account(runtime: Runtime, connection: Connection) -> StreamRunResult:
    """One worker: its own client and token manager, one sync of the account stream."""
    connector = get_connector(connection.platform)
    stream = next(s for s in connector.streams if s.name == "account")
    async with runtime.open_client(connection) as client:
        return await make_runner(runtime).sync_stream(
            connection, connector, stream, client, runtime.mapping_context(connection)
        )


async def stored_token(runtime: Runtime, connection: Connection) -> dict[str, Any]:
    token = await runtime.token_store(connection.id).load()
    assert token is not None
    return token


async def test_fifty_concurrent_syncs_refresh_a_rotating_token_once(hub: Hub) -> None:
    runtime = hub.runtime
    [connection] = await connect(runtime, sellers=1, platforms=["stripe"])
    hub.configure("stripe", rotate_refresh_tokens=True)
    hub.fault("stripe", kind="expire_access_tokens")
    granted = await stored_token(runtime, connection)
    before = hub.stats("stripe")

    results = await asyncio.gather(*(sync_account(runtime, connection) for _ in range(50)))

    after = hub.stats("stripe")
    assert refreshes(after) - refreshes(before) == 1
    assert after["invalid_grant"] == before["invalid_grant"] == 0
    assert_synced([(r.status, r.error) for r in results])
    assert not any(r.action == "reauthorize" for r in results)
    # the rotated refresh token was saved (the old one is spent), and it works: a later sync
    # after another early expiry refreshes with it
    saved = await stored_token(runtime, connection)
    rotated, renewed = (replaced(saved, granted, f) for f in ("refresh_token", "access_token"))
    assert rotated, "the rotated refresh token was not saved"
    assert renewed, "the new access token was not saved"
    hub.fault("stripe", kind="expire_access_tokens")
    again = await sync_connections(runtime, [connection], streams=["account"])
    assert again.ok, again
    final = hub.stats("stripe")
    assert refreshes(final) - refreshes(after) == 1 and final["invalid_grant"] == 0
    [row] = control.list_connections(runtime.engine)
    assert row.status == "active"


@pytest.mark.postgres
async def test_two_processes_refresh_a_rotating_token_once(
    postgres_hub: Hub, tmp_path: Path
) -> None:
    """Amazon's token is also expired on our side (the proactive path), Stripe's only at the
    platform (the refresh-after-401 path); two processes sync both connections at once.
    (Across processes on SQLite, the file lock is shown in test_locks.py.)"""
    hub = postgres_hub
    runtime = hub.runtime
    connections = await connect(runtime, sellers=1)
    granted = {c.id: await stored_token(runtime, c) for c in connections}
    amazon = next(c for c in connections if c.platform == "amazon")
    expired = {**granted[amazon.id], "expires_at": int(time.time()) - 5}
    await runtime.token_store(amazon.id).save(expired)
    for platform in ("amazon", "stripe"):
        hub.configure(platform, rotate_refresh_tokens=True)
        hub.fault(platform, kind="expire_access_tokens")
    before = {p: hub.stats(p) for p in ("amazon", "stripe")}

    # Amazon's sandbox rate limit (burst 15) is left room; Stripe gets more workers
    outputs = await run_workers(hub, tmp_path, "amazon=4,stripe=10", processes=2)
    for returncode, out, err in outputs:
        assert returncode == 0, err.decode()[-3000:]
        lines = [json.loads(line) for line in out.decode().splitlines()]
        assert len(lines) == 14
        assert_synced([(line["status"], line["error"]) for line in lines])

    for platform in ("amazon", "stripe"):
        after = hub.stats(platform)
        assert refreshes(after) - refreshes(before[platform]) == 1, platform
        assert after["invalid_grant"] == 0, platform
    for connection in connections:  # rotated and saved: the spent refresh token is gone
        saved = await stored_token(runtime, connection)
        before_token = granted[connection.id]
        assert replaced(saved, before_token, "refresh_token"), f"{connection.platform}: not rotated"
        assert replaced(saved, before_token, "access_token"), (
            f"{connection.platform}: not refreshed"
        )
    assert all(c.status == "active" for c in control.list_connections(runtime.engine))
    # and the database holds none of these tokens in clear (the issue asks for pg_dump)
    assert_dump_has_no_token(runtime, hub.database_url)


async def run_workers(
    hub: Hub, tmp_path: Path, workers: str, *, processes: int
) -> list[tuple[int, bytes, bytes]]:
    """Start the worker processes, let them all set up, then tell them to go at once."""
    go = tmp_path / "go"
    command = ["-m", "tests.lifecycle.refresh_worker", str(go), workers]
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            *command,
            cwd=REPO,
            env=hub.child_env(dict(os.environ)),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(processes)
    ]
    try:
        await asyncio.wait_for(_ready(tmp_path, children), 60)
        await asyncio.to_thread(go.touch)
        outputs = await asyncio.wait_for(asyncio.gather(*(c.communicate() for c in children)), 120)
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
                await child.wait()
    return [
        (child.returncode or 0, out, err)
        for child, (out, err) in zip(children, outputs, strict=True)
    ]


async def _ready(tmp_path: Path, children: list[asyncio.subprocess.Process]) -> None:
    """Until every worker has set up (so they really race); a worker that died says why."""
    while len(await asyncio.to_thread(lambda: list(tmp_path.glob("go.ready.*")))) < len(children):
        for child in children:
            if child.returncode is not None:
                _, err = await child.communicate()
                raise AssertionError(f"a worker died while setting up: {err.decode()[-3000:]}")
        await asyncio.sleep(0.01)
