"""The bench's reading of PostgreSQL's CPU counts backends that are still alive and those
that have ended (their time moves into the postmaster's reaped-children figures)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bench.server_cpu import server_cpu_seconds

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]

BUSY_HALF_SECOND = """
DO $$
DECLARE until timestamptz := clock_timestamp() + interval '0.5 seconds';
BEGIN
  WHILE clock_timestamp() < until LOOP END LOOP;
END $$
"""


def _reading() -> float:
    value = server_cpu_seconds()
    if value is None:
        pytest.skip("no PostgreSQL process on this machine to read (the server is elsewhere)")
    return value


def _wait_until_reaped(pid: int, within: float = 5.0) -> None:
    """Until the postmaster has reaped the ended backend ``pid`` (its /proc entry is gone)."""
    deadline = time.monotonic() + within
    while Path(f"/proc/{pid}").exists():
        assert time.monotonic() < deadline, f"backend {pid} still there after {within} s"
        time.sleep(0.02)


@pytest.mark.parametrize("close_first", [False, True], ids=["live backend", "ended backend"])
def test_server_cpu_counts_a_busy_backend(postgres_url: str, close_first: bool) -> None:
    engine = create_engine(postgres_url)
    before = _reading()
    conn = engine.connect()
    try:
        backend = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
        conn.execute(text(BUSY_HALF_SECOND))
        if close_first:
            conn.close()
            engine.dispose()  # the backend exits; its time is in the postmaster's cutime
            _wait_until_reaped(backend)
        else:
            assert Path(f"/proc/{backend}").exists()
        # a 2-core host under load may give the loop less than all of its half second
        assert _reading() - before >= 0.2
    finally:
        conn.close()
        engine.dispose()
