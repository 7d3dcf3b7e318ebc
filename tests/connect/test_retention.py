"""Purge honours the tenant's retention policy, deletes only the disconnected connection's synced
data, and keeps the connection, its history and the consent audit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlmodel import Session

from sellerhub import control, withdrawal
from sellerhub.consent_log import Actor
from sellerhub.runtime import Runtime, sandbox_app_credentials
from sellerhub.settings import Settings
from warehouse import metrics
from warehouse.connect_tables import ConsentEvent, Disconnection
from warehouse.scoring_tables import DailyMetric
from warehouse.tables import (
    CanonicalVersion,
    Connection,
    OrderRow,
    QuarantinedRecord,
    RawRecord,
    SyncEvent,
    SyncRun,
    SyncState,
    table_of,
)

DATA = {
    "raw_records": RawRecord,
    "orders": OrderRow,
    "canonical_versions": CanonicalVersion,
    "quarantine": QuarantinedRecord,
    "sync_state": SyncState,
}


@pytest.fixture
def runtime(tmp_path: Path, database_url: str) -> Iterator[Runtime]:
    runtime = Runtime(Settings(home=tmp_path / "home", database_url=database_url))
    yield runtime
    runtime.close()


def seed(runtime: Runtime, tenant_name: str, account: str) -> Connection:
    """An Amazon connection (no revocation endpoint: no network needed) with synced rows."""
    engine = runtime.engine
    tenant = control.ensure_tenant(engine, tenant_name)
    runtime.register_app(tenant.id, "amazon", sandbox_app_credentials("amazon"))
    seller = control.ensure_seller(engine, tenant.id, f"ref-{account}", "Seller")
    connection = control.upsert_connection(
        engine,
        tenant_id=tenant.id,
        seller_id=seller.id,
        platform="amazon",
        environment="production",
        region="na",
        platform_account_id=account,
        scopes="",
    )
    now = datetime.now(UTC)
    owner = {"connection_id": connection.id}
    with Session(engine) as session:
        run_id = session.execute(
            insert(table_of(SyncRun))
            .values(**owner, stream="orders")
            .returning(table_of(SyncRun).c.id)
        ).scalar_one()
        session.execute(
            insert(table_of(RawRecord)).values(
                **owner,
                stream="orders",
                external_id="o-1",
                payload={"id": "o-1"},
                payload_hash="h",
                fetched_at=now,
                run_id=run_id,
            )
        )
        session.execute(
            insert(table_of(OrderRow)).values(
                **owner,
                tenant_id=tenant.id,
                seller_id=seller.id,
                platform="amazon",
                external_id="o-1",
                mapping_version=1,
                content_hash="h",
                placed_at=now,
                status="shipped",
                channel="amazon.com",
                currency="USD",
                gross=Decimal("10.00"),
                tax=Decimal(0),
                shipping=Decimal(0),
                discount=Decimal(0),
                net=Decimal("10.00"),
                first_seen_at=now,
                recorded_at=now,
            )
        )
        session.execute(
            insert(table_of(CanonicalVersion)).values(
                **owner,
                entity="orders",
                external_id="o-1",
                version=1,
                content_hash="h",
                content={},
                mapping_version=1,
                valid_from=now,
                valid_to=now,
            )
        )
        session.execute(
            insert(table_of(QuarantinedRecord)).values(
                **owner, stream="orders", reason="bad", payload={}, created_at=now
            )
        )
        session.execute(
            insert(table_of(SyncState)).values(**owner, stream="orders", cursor="x", updated_at=now)
        )
        session.commit()
    return connection


def counts(engine: Engine, connection_id: str) -> dict[str, int]:
    found = {}
    with Session(engine) as session:
        for name, model in {**DATA, "sync_runs": SyncRun}.items():
            table = table_of(model)
            found[name] = int(
                session.execute(
                    select(func.count())
                    .select_from(table)
                    .where(table.c.connection_id == connection_id)
                ).scalar_one()
            )
    return found


def daily_rows(engine: Engine, seller_id: str) -> int:
    table = table_of(DailyMetric)
    with Session(engine) as session:
        return int(
            session.execute(
                select(func.count()).select_from(table).where(table.c.seller_id == seller_id)
            ).scalar_one()
        )


async def withdraw(runtime: Runtime, connection: Connection) -> datetime:
    await withdrawal.disconnect(
        runtime, connection.tenant_id, connection.id, Actor("operator", "test")
    )
    with Session(runtime.engine) as session:
        row = session.get(Disconnection, connection.id)
        assert row is not None
        return row.disconnected_at


def everything_present(found: dict[str, Any]) -> bool:
    return all(value == 1 for value in found.values())


async def test_keep_policy_never_purges(runtime: Runtime) -> None:
    connection = await _withdrawn(runtime, "Keeper")

    outcomes = withdrawal.purge(runtime.engine, now=datetime.now(UTC) + timedelta(days=3650))

    assert [(o.connection_id, o.due_at, o.purged) for o in outcomes] == [
        (connection.id, None, False)
    ]
    assert everything_present(counts(runtime.engine, connection.id))


async def _withdrawn(runtime: Runtime, tenant: str) -> Connection:
    connection = seed(runtime, tenant, f"A{tenant.upper()}")
    await withdraw(runtime, connection)
    return connection


async def test_delete_policy_purges_when_due_and_only_that_connection(runtime: Runtime) -> None:
    gone = seed(runtime, "Deleter", "AGONE")
    stays = seed(runtime, "Deleter", "ASTAYS")  # same tenant, still connected
    other = seed(runtime, "Other lender", "AOTHER")  # another tenant, keeps its data
    withdrawal.set_policy(runtime.engine, gone.tenant_id, "delete", 3)
    disconnected_at = await withdraw(runtime, gone)
    await withdraw(runtime, other)

    early = withdrawal.purge(runtime.engine, now=disconnected_at + timedelta(days=2, hours=23))
    assert everything_present(counts(runtime.engine, gone.id))
    assert {o.connection_id: o.purged for o in early} == {gone.id: False, other.id: False}
    assert [o.due_at for o in early if o.connection_id == gone.id] == [
        disconnected_at + timedelta(days=3)
    ]
    dry = withdrawal.purge(runtime.engine, now=disconnected_at + timedelta(days=3), dry_run=True)
    assert not any(o.purged for o in dry)
    assert everything_present(counts(runtime.engine, gone.id))

    metrics.rebuild(runtime.engine, tenant_id=gone.tenant_id)
    assert daily_rows(runtime.engine, gone.seller_id) > 0

    done = withdrawal.purge(runtime.engine, now=disconnected_at + timedelta(days=3))

    (purged,) = [o for o in done if o.purged]
    assert purged.connection_id == gone.id
    assert {name: purged.deleted.get(name) for name in DATA} == {name: 1 for name in DATA}
    after = counts(runtime.engine, gone.id)
    assert {name: after[name] for name in DATA} == {name: 0 for name in DATA}
    assert after["sync_runs"] == 1  # run history stays
    assert everything_present(counts(runtime.engine, stays.id))
    assert everything_present(counts(runtime.engine, other.id))
    # figures derived from the deleted rows go too; the seller still connected keeps theirs
    assert daily_rows(runtime.engine, gone.seller_id) == 0
    assert daily_rows(runtime.engine, stays.seller_id) > 0
    with Session(runtime.engine) as session:
        assert session.get(Connection, gone.id) is not None
        withdrawn = session.execute(
            select(func.count())
            .select_from(table_of(ConsentEvent))
            .where(table_of(ConsentEvent).c.connection_id == gone.id)
        ).scalar_one()
        assert withdrawn == 1
        events = table_of(SyncEvent)
        kinds = list(
            session.execute(
                select(events.c.kind).where(events.c.connection_id == gone.id)
            ).scalars()
        )
        assert "purged" in kinds
    # purged once: a later purge has nothing left to report for it
    assert gone.id not in {o.connection_id for o in withdrawal.purge(runtime.engine)}


async def test_a_reconnected_connection_is_not_purged(runtime: Runtime) -> None:
    connection = seed(runtime, "Returner", "ARETURN")
    withdrawal.set_policy(runtime.engine, connection.tenant_id, "delete", 0)
    await withdraw(runtime, connection)
    control.upsert_connection(
        runtime.engine,
        tenant_id=connection.tenant_id,
        seller_id=connection.seller_id,
        platform="amazon",
        environment="production",
        region="na",
        platform_account_id=connection.platform_account_id,
        scopes="",
    )

    outcomes = withdrawal.purge(runtime.engine, now=datetime.now(UTC) + timedelta(days=1))

    assert outcomes == []
    assert everything_present(counts(runtime.engine, connection.id))
