"""The whole path over loopback: OAuth at the emulators, backfill, incremental, ground truth.

Runs on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sellerhub import control
from sellerhub.demo import run_demo
from sellerhub.syncing import sync_connections
from tests.integration.harness import assert_matches_truth, running_hub, table_counts

pytestmark = pytest.mark.slow


async def test_demo_lands_exactly_what_the_platforms_hold(
    tmp_path: Path, database_url: str
) -> None:
    with running_hub(tmp_path / "home", database_url) as runtime:
        result = await run_demo(runtime)
        assert result.backfill.ok, result.backfill
        assert result.incremental.ok, result.incremental
        connections = control.list_connections(runtime.engine)
        assert sorted(c.platform for c in connections) == ["amazon"] * 3 + ["stripe"] * 3
        assert all(c.status == "active" for c in connections)
        assert_matches_truth(runtime, connections)

        # the incremental round read the new activity (3 orders per account were added)
        new_rows = sum(r.rows_inserted for r in result.incremental.results)
        assert new_rows > 0

        # a second sync with nothing new at the platforms adds no rows and no versions
        before = table_counts(runtime.engine)
        again = await sync_connections(runtime, connections)
        assert again.ok, again
        assert sum(r.records for r in again.results) > 0  # it did read (look-back windows)
        assert table_counts(runtime.engine) == before
        assert_matches_truth(runtime, connections)
