"""Refresh locks: one holder per connection across tasks and processes, on SQLite (flock) and
PostgreSQL (advisory locks); released by a dying holder; bounded waits; no leaks on cancel."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from sellerhub.locks import (
    RefreshLocks,
    RefreshLockTimeout,
    process_local_locks,
    refresh_locks_for,
    sqlite_lock_directory,
)
from warehouse.engine import make_engine

WORKER = [sys.executable, "-m", "tests.lifecycle.lock_worker"]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def locks_of(engine: Engine, timeout: float = 120.0) -> RefreshLocks:
    return refresh_locks_for(engine, timeout=timeout)


async def test_tasks_of_one_process_take_turns_per_connection() -> None:
    locks = process_local_locks()
    inside: dict[str, int] = {"a": 0, "b": 0}
    most: dict[str, int] = {"a": 0, "b": 0}

    async def worker(key: str) -> None:
        async with locks.for_connection(key).hold():
            inside[key] += 1
            most[key] = max(most[key], inside[key])
            await asyncio.sleep(0.001)
            inside[key] -= 1

    async def both_at_once() -> bool:
        """Two different connections may be held at the same time."""
        async with locks.for_connection("a").hold():
            async with asyncio.timeout(1):
                async with locks.for_connection("b").hold():
                    return True

    await asyncio.gather(*(worker(k) for k in ("a", "b") for _ in range(50)))
    assert most == {"a": 1, "b": 1}
    assert await both_at_once()


async def test_a_lock_held_elsewhere_times_out_and_is_taken_once_free(db: Engine) -> None:
    holder, waiter = locks_of(db), locks_of(db, timeout=0.3)  # two processes' worth of locks
    try:
        async with holder.for_connection("con_x").hold():
            with pytest.raises(RefreshLockTimeout):
                async with waiter.for_connection("con_x").hold():
                    pass
            # another connection is not blocked
            async with asyncio.timeout(5):
                async with waiter.for_connection("con_y").hold():
                    pass
        async with asyncio.timeout(5):
            async with waiter.for_connection("con_x").hold():
                pass
    finally:
        holder.close()
        waiter.close()


async def test_a_waiter_cancelled_mid_wait_leaves_no_lock_behind(db: Engine) -> None:
    holder, waiter, later = locks_of(db), locks_of(db), locks_of(db, timeout=5)
    try:
        async with holder.for_connection("con_c").hold():
            waiting = asyncio.create_task(_hold_briefly(waiter, "con_c"))
            await asyncio.sleep(0.2)
            assert not waiting.done()
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        await asyncio.sleep(0.2)  # the cancelled waiter's thread may get the lock, then drop it
        async with later.for_connection("con_c").hold():
            pass
    finally:
        for locks in (holder, waiter, later):
            locks.close()


async def _hold_briefly(locks: RefreshLocks, key: str) -> None:
    async with locks.for_connection(key).hold():
        await asyncio.sleep(0.01)


def test_two_processes_never_hold_one_connection_lock_together(
    database_url: str, tmp_path: Path
) -> None:
    counter, go = tmp_path / "counter", tmp_path / "go"
    counter.write_text("0")
    args = ["count", database_url, "con_shared", str(counter), "25", str(go)]
    children = [
        subprocess.Popen([*WORKER, *args], cwd=REPO, stderr=subprocess.PIPE) for _ in range(2)
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("go.ready.*"))) < 2:  # both started: they really race
        assert all(c.poll() is None for c in children), "a worker died before starting"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    go.touch()
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()[-2000:]
    assert int(counter.read_text()) == 50  # no update lost: the read-write pairs never overlapped


async def test_a_killed_holder_releases_its_lock(database_url: str, db: Engine) -> None:
    child = await asyncio.create_subprocess_exec(
        *WORKER,
        "hold",
        database_url,
        "con_dead",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    locks, retry = locks_of(db, timeout=0.3), locks_of(db, timeout=10)
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), 60)
        assert line.strip() == b"locked"
        with pytest.raises(RefreshLockTimeout):
            async with locks.for_connection("con_dead").hold():
                pass
        child.kill()  # SIGKILL: no clean-up code runs in the holder
        await child.wait()
        async with retry.for_connection("con_dead").hold():
            pass
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        locks.close()
        retry.close()


def test_the_warehouse_picks_its_kind_of_lock(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        assert sqlite_lock_directory(engine) == (tmp_path / "w.db-locks").resolve()
        assert "file" in repr(refresh_locks_for(engine))
    finally:
        engine.dispose()
    memory = make_engine("sqlite://")
    try:
        assert sqlite_lock_directory(memory) is None
        assert "in-process" in repr(refresh_locks_for(memory))
    finally:
        memory.dispose()


@pytest.mark.postgres
def test_postgres_uses_advisory_locks(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        locks = refresh_locks_for(engine)
        assert "advisory" in repr(locks)
        locks.close()
    finally:
        engine.dispose()
