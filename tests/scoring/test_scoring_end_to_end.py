"""The demo's sellers synced from the emulators, then: daily metrics kept up to date by
refreshes equal a full rebuild; ``as_of`` before and after a status change at the platform;
``renormalize`` after a mapping change touches only the rows it changes.

One demo run per backend (module-scoped hub); the tests run in file order on it.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import normalizer.stripe
from normalizer.registry import MAPPING_VERSION
from sellerhub import control
from sellerhub.demo import add_platform_activity, connect_sellers, ensure_demo_tenant
from sellerhub.runtime import Runtime
from sellerhub.syncing import sync_connections
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.integration.harness import running_hub, sandbox_post
from tests.scoring.helpers import daily_rows
from warehouse import metrics
from warehouse.history import rows_as_of
from warehouse.renormalize import renormalize
from warehouse.scoring_tables import DailyMetric, FxAmount
from warehouse.tables import CANONICAL_TABLES, CanonicalVersion, TransactionRow, table_of

pytestmark = pytest.mark.slow


class Demo:
    def __init__(self, runtime: Runtime, tenant_id: str, backfilled_at: datetime):
        self.runtime = runtime
        self.tenant_id = tenant_id
        self.backfilled_at = backfilled_at  # the backfill's metrics were all written by then


async def _sync_like_the_demo(runtime: Runtime) -> Demo:
    """``run_demo``'s steps, each round followed by a metrics refresh (as the runner's hook
    does; when the runner already refreshed, these find nothing left to do)."""
    tenant_id = ensure_demo_tenant(runtime)
    await connect_sellers(runtime, tenant_id, 3)
    connections = control.list_connections(runtime.engine, statuses=["active"])
    backfill = await sync_connections(runtime, connections, trigger="backfill")
    assert backfill.ok, backfill
    metrics.refresh(runtime.engine, tenant_id=tenant_id)
    backfilled_at = datetime.now(UTC)
    await add_platform_activity(runtime)
    await asyncio.sleep(1.1)  # the activity's second must pass (see run_demo)
    incremental = await sync_connections(runtime, connections, trigger="schedule")
    assert incremental.ok, incremental
    metrics.refresh(runtime.engine, tenant_id=tenant_id)
    return Demo(runtime, tenant_id, backfilled_at)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    home: Path = tmp_path_factory.mktemp(f"scoring-{request.param}")
    server = None
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'warehouse.db'}"
    else:
        created = create_postgres_database()
        if created is None:
            pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432; PostgreSQL tests skipped")
        url, server = created
    try:
        with running_hub(home / "home", url) as runtime:
            yield asyncio.run(_sync_like_the_demo(runtime))
    finally:
        if server is not None:
            drop_postgres_database(url, server)


def _version_counts(demo: Demo) -> dict[str, int]:
    versions = table_of(CanonicalVersion)
    with demo.runtime.engine.connect() as conn:
        return {
            row.entity: row.n
            for row in conn.execute(
                select(versions.c.entity, func.count().label("n")).group_by(versions.c.entity)
            )
        }


def test_refreshed_metrics_equal_a_full_rebuild(demo: Demo) -> None:
    engine = demo.runtime.engine
    table = table_of(DailyMetric)
    with engine.connect() as conn:
        written = [
            row.updated_at
            for row in conn.execute(
                select(table.c.updated_at).where(table.c.tenant_id == demo.tenant_id)
            )
        ]
    assert len(written) > 300  # seven months of three sellers on two platforms
    # the incremental round recomputed only the recent days, not the whole history
    recent = [moment for moment in written if moment > demo.backfilled_at]
    assert 0 < len(recent) < len(written) / 10
    incremental = daily_rows(engine, demo.tenant_id)

    rebuilt = metrics.rebuild(engine, tenant_id=demo.tenant_id)
    assert rebuilt.buckets + rebuilt.totals == len(written)
    assert daily_rows(engine, demo.tenant_id) == incremental

    # the USD seller's Stripe gross sales are its sale transactions, converted at rate 1
    tx = table_of(TransactionRow)
    with engine.connect() as conn:
        sales: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        currencies: dict[tuple[str, str], set[str]] = defaultdict(set)
        for row in conn.execute(
            select(tx.c.seller_id, tx.c.platform, tx.c.currency, tx.c.amount).where(
                tx.c.tenant_id == demo.tenant_id, tx.c.type == "sale"
            )
        ):
            sales[(row.seller_id, row.platform)] += row.amount
            currencies[(row.seller_id, row.platform)].add(row.currency)
    usd_keys = [key for key, found in currencies.items() if found == {"USD"}]
    assert usd_keys
    for seller, platform in usd_keys:
        total = sum(
            (v["gross_sales"] for k, v in incremental.items() if k[:2] == (seller, platform)),
            Decimal(0),
        )
        assert total == sales[(seller, platform)]

    # every money field of every dated row has its reporting-currency amount and rate
    fx = table_of(FxAmount)
    with engine.connect() as conn:
        held = list(conn.execute(select(fx).where(fx.c.tenant_id == demo.tenant_id)))
    assert {row.reporting_currency for row in held} == {"USD"}
    assert all(row.rate is not None and row.rate_date <= row.day for row in held)
    assert {row.currency for row in held} >= {"USD", "JPY", "EUR"}
    expected = 0
    with engine.connect() as conn:
        for entity, fields in metrics.MONEY_FIELDS.items():
            table = table_of(CANONICAL_TABLES[entity])
            count = conn.execute(
                select(func.count()).select_from(table).where(table.c.tenant_id == demo.tenant_id)
            ).scalar_one()
            expected += count * len(fields)
    assert len(held) == expected


def test_as_of_before_and_after_a_status_change_at_the_platform(demo: Demo) -> None:
    engine = demo.runtime.engine
    current = rows_as_of(
        engine,
        "orders",
        tenant_id=demo.tenant_id,
        as_of=None,
        platform="amazon",
        since=datetime.now(UTC) - timedelta(days=3),
        limit=1000,
    )
    candidates = [row for row in current if row["status"] in ("open", "pending")]
    assert candidates, "the emulator seeds unshipped Amazon orders"
    chosen = candidates[-1]
    connection = next(
        c
        for c in control.list_connections(engine, tenant_id=demo.tenant_id)
        if c.id == chosen["connection_id"]
    )
    sandbox_post(
        demo.runtime,
        "amazon",
        f"/_sandbox/orders/{chosen['external_id']}/status",
        {"status": "SHIPPED"},
    )
    before_sync = datetime.now(UTC)
    time.sleep(0.01)
    report = asyncio.run(sync_connections(demo.runtime, [connection], streams=["orders"]))
    assert report.ok, report

    def status_at(moment: datetime | None) -> Any:
        rows = rows_as_of(
            engine,
            "orders",
            tenant_id=demo.tenant_id,
            as_of=moment,
            seller_id=connection.seller_id,
            platform="amazon",
            since=chosen["placed_at"],
            limit=1000,
        )
        return {r["external_id"]: r for r in rows}[chosen["external_id"]]

    then, now = status_at(before_sync), status_at(None)
    assert then["status"] == chosen["status"]
    assert now["status"] == "fulfilled"
    assert now["version"] == then["version"] + 1
    assert then["valid_from"] <= before_sync < now["valid_from"]


def test_renormalize_adds_versions_only_where_a_mapping_changed_the_content(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, runtime = demo.runtime.engine, demo.runtime
    metrics.refresh(engine, tenant_id=demo.tenant_id)
    before = _version_counts(demo)

    # the current mappings over the stored (redacted) raw records give the same rows
    same = renormalize(engine, tenant_id=demo.tenant_id, contexts=runtime.mapping_context)
    assert same.raw_records > 1000
    assert (same.rows_inserted, same.rows_updated, same.failures) == (0, 0, [])
    assert _version_counts(demo) == before

    # a new Stripe dispute mapping that renames the reason of lost disputes only
    original = normalizer.stripe.MAPPINGS["disputes"]

    def changed(raw: dict[str, Any], ctx: Any) -> list[Any]:
        return [
            record.model_copy(update={"reason": "lost: " + str(record.reason)})
            if record.outcome is not None and record.outcome.value == "lost"
            else record
            for record in original(raw, ctx)
        ]

    monkeypatch.setitem(normalizer.stripe.MAPPINGS, "disputes", changed)
    monkeypatch.setitem(MAPPING_VERSION, "stripe", MAPPING_VERSION["stripe"] + 1)
    lost = {
        row["external_id"]
        for row in rows_as_of(engine, "disputes", tenant_id=demo.tenant_id, as_of=None, limit=1000)
        if row["outcome"] == "lost"
    }
    assert lost, "the emulator seeds lost disputes"
    cutoff = datetime.now(UTC)
    report = renormalize(
        engine,
        tenant_id=demo.tenant_id,
        platform="stripe",
        contexts=runtime.mapping_context,
    )
    assert report.rows_updated == len(lost) and report.rows_inserted == 0
    assert report.changed_by_entity == {"disputes": len(lost)}
    after = _version_counts(demo)
    # one closed version per changed row; rows left alone add none
    assert after == {**before, "disputes": before.get("disputes", 0) + len(lost)}

    versions = table_of(CanonicalVersion)
    disputes = table_of(CANONICAL_TABLES["disputes"])
    with engine.connect() as conn:
        closed = list(
            conn.execute(
                select(versions).where(
                    versions.c.entity == "disputes", versions.c.valid_to >= cutoff
                )
            )
        )
        renewed = list(conn.execute(select(disputes).where(disputes.c.recorded_at >= cutoff)))
    assert {row.external_id for row in closed} == {row.external_id for row in renewed} == lost
    # the closed versions keep the old mapping's content; the rows have the new one
    assert not any(str(row.content["reason"]).startswith("lost: ") for row in closed)
    assert {row.mapping_version for row in closed} == {MAPPING_VERSION["stripe"] - 1}
    now_known = rows_as_of(engine, "disputes", tenant_id=demo.tenant_id, as_of=None, limit=1000)
    reasons = {r["external_id"]: str(r["reason"]) for r in now_known}
    assert all(reasons[external_id].startswith("lost: ") for external_id in lost)
    assert {row.mapping_version for row in renewed} == {MAPPING_VERSION["stripe"]}
    assert all(row.run_id is None and row.raw_id is not None for row in renewed)
    # the point-in-time view still answers with the old reason before the renormalization
    old = rows_as_of(engine, "disputes", tenant_id=demo.tenant_id, as_of=cutoff, limit=1000)
    assert not any(str(r["reason"]).startswith("lost: ") for r in old)
    # disputes changed content but not their day or amount: the metrics stay the same
    snapshot = daily_rows(engine, demo.tenant_id)
    metrics.refresh(engine, tenant_id=demo.tenant_id)
    assert daily_rows(engine, demo.tenant_id) == snapshot
