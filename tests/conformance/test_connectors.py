"""One conformance suite for every registered connector, against its sandbox emulator.

Each connector must pass it unchanged: records arrive and validate against the canonical
schema with lineage to their raw record; cursors only move forward; a second run adds no
duplicates; a refreshed token reaches the vault; 429 and 5xx answers are retried.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session

from connectors.http.retry import RetryPolicy
from connectors.registry import connector_names, get_connector
from normalizer.schema import ENTITY_MODELS
from sellerhub.runtime import SANDBOX_PLATFORMS, Runtime
from sellerhub.syncing import sync_connections
from tests.integration.harness import (
    assert_matches_truth,
    connect,
    running_hub,
    sandbox_get,
    sandbox_post,
    table_counts,
)
from vault.tokens import connection_token_ref
from warehouse import writer
from warehouse.stored_content import row_content
from warehouse.tables import (
    CANONICAL_TABLES,
    CanonicalVersion,
    Connection,
    RawRecord,
    SyncState,
    table_of,
)

pytestmark = pytest.mark.slow


def test_every_registered_connector_has_an_emulator() -> None:
    assert set(connector_names()) <= set(SANDBOX_PLATFORMS)


@pytest.fixture(params=connector_names())
def platform(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def hub(tmp_path: Path, sqlite_url: str) -> Iterator[Runtime]:
    with running_hub(tmp_path / "home", sqlite_url) as runtime:
        # fast retries: the policy is the production one, only its delays are scaled down
        runtime.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05, max_retry_after=1)
        yield runtime


async def _connected(runtime: Runtime, platform: str) -> list[Connection]:
    connections = await connect(runtime, sellers=1, platforms=[platform])
    assert len(connections) == 1 and connections[0].platform == platform
    return connections


async def test_records_arrive_and_validate(hub: Runtime, platform: str) -> None:
    connections = await _connected(hub, platform)
    report = await sync_connections(hub, connections)
    assert report.ok, report
    declared = {s.name for s in get_connector(platform).streams}
    assert {r.stream for r in report.results} == declared
    for result in report.results:
        assert result.records > 0, f"{platform}/{result.stream} returned no records"
    with Session(hub.engine) as session:
        closed = session.execute(select(table_of(CanonicalVersion))).all()
        raw_ids = set(session.execute(select(table_of(RawRecord).c.id)).scalars())
        current = [
            (entity, row.raw_id, row_content(entity, dict(row._mapping)))
            for entity, model in CANONICAL_TABLES.items()
            for row in session.execute(select(table_of(model)))
        ]
    assert current
    # every version, current (the canonical row) or closed, is a valid canonical record and
    # leads to its raw record
    for entity, raw_id, content in [*current, *((v.entity, v.raw_id, v.content) for v in closed)]:
        ENTITY_MODELS[entity].model_validate(content)
        assert raw_id in raw_ids
    assert_matches_truth(hub, connections)


async def test_cursors_only_move_forward(
    hub: Runtime, platform: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connections = await _connected(hub, platform)
    written: list[tuple[str, str | None]] = []
    original = writer.save_state

    def recording(conn: Any, connection_id: str, stream: str, state: Any, now: Any = None) -> None:
        written.append((stream, state.cursor))
        original(conn, connection_id, stream, state, now)

    monkeypatch.setattr(writer, "save_state", recording)
    assert (await sync_connections(hub, connections)).ok
    account = connections[0].platform_account_id
    sandbox_post(hub, platform, "/_sandbox/activity", {"account": account, "orders": 2})
    assert (await sync_connections(hub, connections)).ok
    by_stream: dict[str, list[datetime]] = {}
    for stream, cursor in written:
        if cursor is not None:
            by_stream.setdefault(stream, []).append(
                datetime.fromisoformat(cursor.replace("Z", "+00:00"))
            )
    assert by_stream
    for stream, cursors in by_stream.items():
        assert cursors == sorted(cursors), f"{stream} cursor moved backwards: {cursors}"
    with Session(hub.engine) as session:
        states = session.execute(select(table_of(SyncState))).all()
    assert all(s.pending is None for s in states)  # every run finished its range


async def test_a_second_run_adds_no_duplicates(hub: Runtime, platform: str) -> None:
    connections = await _connected(hub, platform)
    assert (await sync_connections(hub, connections)).ok
    first = table_counts(hub.engine)
    again = await sync_connections(hub, connections)
    assert again.ok
    assert sum(r.records for r in again.results) > 0
    assert table_counts(hub.engine) == first
    assert_matches_truth(hub, connections)


async def test_a_refreshed_token_reaches_the_vault(hub: Runtime, platform: str) -> None:
    connections = await _connected(hub, platform)
    ref = connection_token_ref(connections[0].id)
    before = hub.vault.get_json(ref)
    refreshes = sandbox_get(hub, platform, "/_sandbox/stats")["token_requests"]
    sandbox_post(hub, platform, "/_sandbox/faults", {"kind": "expire_access_tokens"})
    report = await sync_connections(hub, connections)
    assert report.ok, report
    after = hub.vault.get_json(ref)
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"]
    stats = sandbox_get(hub, platform, "/_sandbox/stats")["token_requests"]
    assert stats.get("refresh_token", 0) == refreshes.get("refresh_token", 0) + 1


async def test_429_and_5xx_are_retried(hub: Runtime, platform: str) -> None:
    connections = await _connected(hub, platform)
    faults = [
        {"kind": "status", "status": 429, "count": 1},
        {"kind": "status", "status": 503, "count": 1},
        {"kind": "status", "status": 500, "count": 1, "retry_after": 1},
        {"kind": "status", "status": 429, "count": 1},
        {"kind": "cut", "count": 1},
    ]
    # spread over the streams so no single request meets more faults than the retry budget
    paths = [s.path for s in get_connector(platform).streams]
    for index, fault in enumerate(faults):
        fault["path_prefix"] = paths[index % len(paths)]
        sandbox_post(hub, platform, "/_sandbox/faults", fault)
    served_before = sandbox_get(hub, platform, "/_sandbox/stats")["faults_served"]
    report = await sync_connections(hub, connections)
    assert report.ok, report
    served = sandbox_get(hub, platform, "/_sandbox/stats")["faults_served"] - served_before
    assert served == 5
    assert_matches_truth(hub, connections)
