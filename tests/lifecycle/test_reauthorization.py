"""A revoked grant: the connection turns ``reauth_required`` within one sync, with the reason in
``sellerhub status``; its schedule stops; a new consent resumes it where it stopped (cursors
kept, no new backfill), over the emulators' real OAuth pages."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session, col
from sqlmodel import select as select_rows

from scheduler.planner import Planner
from sellerhub import control
from sellerhub.syncing import sync_connections
from tests.integration.harness import assert_matches_truth, connect
from tests.lifecycle.conftest import Hub
from warehouse.tables import SyncEvent, SyncState, table_of

pytestmark = pytest.mark.slow  # emulators over loopback, child processes

REPO = Path(__file__).resolve().parents[2]


async def _nothing(connection_id: str) -> None:
    """The planner's job; never run here (the scheduler is not started)."""


def cursors(hub: Hub) -> dict[tuple[str, str], str | None]:
    with Session(hub.runtime.engine) as session:
        rows = session.execute(select(table_of(SyncState))).all()
    return {(r.connection_id, r.stream): r.cursor for r in rows}


def events(hub: Hub, connection_id: str) -> list[SyncEvent]:
    with Session(hub.runtime.engine) as session:
        return list(
            session.exec(
                select_rows(SyncEvent)
                .where(col(SyncEvent.connection_id) == connection_id)
                .order_by(col(SyncEvent.id))
            ).all()
        )


def status_output(hub: Hub) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "sellerhub.cli", "status", "--home", str(hub.home)],
        cwd=REPO,
        env=hub.child_env(dict(os.environ)),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return done.stdout.decode()


def words(text: str) -> str:
    """The table's text with borders and wrapping removed (cells wrap over several lines)."""
    return " ".join(re.sub(r"[│┃┏┓┗┛┡┩└┘┌┐├┤┬┴┼━─═╇╈┳┻╋|]", " ", text).split())


async def test_a_revoked_grant_needs_reauthorization_and_a_new_consent_resumes(
    sqlite_hub: Hub,
) -> None:
    """(On SQLite: nothing here depends on the database kind; PostgreSQL runs the runner's
    re-authorization path in tests/runner.)"""
    hub = sqlite_hub
    runtime = hub.runtime
    connections = await connect(runtime, sellers=1)
    ids = {c.id for c in connections}
    backfill = await sync_connections(runtime, connections, trigger="backfill")
    assert backfill.ok, backfill
    read_in_backfill = {
        c.id: sum(r.records for r in backfill.results if r.connection_id == c.id)
        for c in connections
    }
    kept = cursors(hub)
    assert kept and all(kept.values())
    planner = Planner(runtime.engine, _nothing)
    await planner.replan()
    assert planner.planned() == ids

    # the sellers revoke access at the platforms; the access tokens expire
    for connection in connections:
        hub.fault(connection.platform, kind="revoke", account=connection.platform_account_id)
        hub.fault(connection.platform, kind="expire_access_tokens")

    report = await sync_connections(runtime, connections)
    for connection in connections:
        runs = [r for r in report.results if r.connection_id == connection.id]
        # the first stream found out; the connection stopped there
        assert [(r.status, r.action, r.fault) for r in runs] == [
            ("failed", "reauthorize", "seller")
        ]
    rows = {c.id: c for c in control.list_connections(runtime.engine)}
    for connection_id in ids:
        row = rows[connection_id]
        assert row.status == "reauth_required"
        assert row.status_reason and "invalid_grant" in row.status_reason
        assert "revoked" in row.status_reason
        assert [e.kind for e in events(hub, connection_id)][-1] == "reauth_required"
    await planner.replan()
    assert planner.planned() == set()  # schedules paused
    refused = await sync_connections(runtime, list(rows.values()))
    assert set(refused.errors) == ids and not refused.results  # nothing syncs meanwhile

    shown = words(status_output(hub))  # (the table shortens ids and wraps long reasons)
    assert shown.count("reauth_required") == 2
    assert shown.count("invalid_grant (The refresh token has been revoked.)") == 2
    assert cursors(hub) == kept  # nothing lost while paused

    # the seller consents again (the same accounts, through the consent pages)
    again = await connect(runtime, sellers=1)
    assert {c.id for c in again} == ids
    for connection in again:
        assert (connection.status, connection.status_reason) == ("active", None)
        assert [e.kind for e in events(hub, connection.id)][-1] == "reconnected"
    await planner.replan()
    assert planner.planned() == ids
    assert cursors(hub) == kept

    resumed = await sync_connections(runtime, again)
    assert resumed.ok, resumed
    for connection in again:
        read_now = sum(r.records for r in resumed.results if r.connection_id == connection.id)
        assert read_now < read_in_backfill[connection.id] / 2  # an incremental, not a backfill
    after = cursors(hub)
    assert after.keys() == kept.keys()
    assert all((after[k] or "") >= (kept[k] or "") for k in kept)
    assert_matches_truth(runtime, again)
