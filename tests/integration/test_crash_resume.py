"""SIGKILL in the middle of a backfill, then run again: nothing lost, nothing duplicated.

The emulators run in this test process (slowed down by injected faults so the backfill takes a
while); `sellerhub sync` runs in a child process pointed at them, and is killed with SIGKILL once
it has committed some pages. A second `sellerhub sync` must then bring the warehouse to exactly
the platforms' ground truth, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from sandbox.server import start_sandbox
from sellerhub import control
from sellerhub.runtime import SANDBOX_PLATFORMS, SANDBOX_URLS_ENV
from tests.integration.harness import assert_matches_truth, connect, running_hub, sandbox_post
from warehouse.tables import RawRecord, SyncRun, SyncState, table_of

pytestmark = pytest.mark.slow


def _sync_command(home: Path) -> list[str]:
    return [sys.executable, "-m", "sellerhub.cli", "sync", "--home", str(home)]


def _pages_committed(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return int(
            session.execute(
                select(func.coalesce(func.sum(table_of(SyncRun).c.pages), 0))
            ).scalar_one()
        )


def test_a_killed_backfill_resumes_without_loss_or_duplicates(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    with start_sandbox(SANDBOX_PLATFORMS, tmp_path / "emulators") as sandbox:
        urls = {p: sandbox.base_url(p) for p in SANDBOX_PLATFORMS}
        monkeypatch.setenv(SANDBOX_URLS_ENV, json.dumps(urls))
        with running_hub(home, database_url) as runtime:
            connections = asyncio.run(connect(runtime, sellers=3))
            # every API request waits: the backfill now takes many seconds
            for platform in SANDBOX_PLATFORMS:
                sandbox_post(
                    runtime,
                    platform,
                    "/_sandbox/faults",
                    {"kind": "slow", "delay": 0.25, "count": 100_000},
                )
            env = {**os.environ, SANDBOX_URLS_ENV: json.dumps(urls), "DATABASE_URL": database_url}
            child = subprocess.Popen(
                _sync_command(home), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            try:
                deadline = time.monotonic() + 120
                while _pages_committed(runtime.engine) < 20:
                    assert child.poll() is None, (
                        child.stderr.read().decode() if child.stderr else ""
                    )
                    assert time.monotonic() < deadline, "the backfill never got going"
                    time.sleep(0.1)
                child.send_signal(signal.SIGKILL)
                child.wait(timeout=30)
            finally:
                if child.poll() is None:
                    child.kill()
            assert child.returncode == -signal.SIGKILL

            # it really died mid-backfill: runs left open, and streams with a pending range
            with Session(runtime.engine) as session:
                open_runs = session.execute(
                    select(func.count())
                    .select_from(table_of(SyncRun))
                    .where(table_of(SyncRun).c.status == "running")
                ).scalar_one()
                states = session.execute(select(table_of(SyncState))).all()
            assert open_runs > 0
            assert len(states) < 3 * 3 + 3 * 6 or any(s.pending for s in states)

            for platform in SANDBOX_PLATFORMS:
                httpx.delete(urls[platform] + "/_sandbox/faults", timeout=30).raise_for_status()
            rerun = subprocess.run(
                _sync_command(home), env=env, capture_output=True, timeout=300, check=False
            )
            assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]

            assert_matches_truth(runtime, control.list_connections(runtime.engine))
            # no raw record stored twice (the emulators' data did not change in between)
            raw = table_of(RawRecord)
            with Session(runtime.engine) as session:
                total = session.execute(select(func.count()).select_from(raw)).scalar_one()
                distinct = session.execute(
                    select(func.count()).select_from(
                        select(raw.c.connection_id, raw.c.stream, raw.c.external_id)
                        .distinct()
                        .subquery()
                    )
                ).scalar_one()
            assert total == distinct
            assert len(connections) == 6

            # the killed runs are marked interrupted, not left "running" forever
            with Session(runtime.engine) as session:
                statuses = set(session.execute(select(table_of(SyncRun).c.status)).scalars())
            assert "running" not in statuses and "interrupted" in statuses
