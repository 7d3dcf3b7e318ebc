"""Helpers for end-to-end tests: a runtime on a test warehouse, sellers connected through the
emulators' real OAuth pages, and the comparison of the warehouse with the emulators' truth."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from api.app import create_app
from sellerhub import control
from sellerhub.demo import connect_sellers, ensure_demo_tenant
from sellerhub.runtime import Runtime
from sellerhub.serving import serve_in_thread
from sellerhub.settings import Settings, normalize_database_url
from warehouse.tables import (
    CANONICAL_TABLES,
    CanonicalVersion,
    Connection,
    RawRecord,
    table_of,
)


@contextmanager
def running_hub(home: Path, database_url: str) -> Iterator[Runtime]:
    """A runtime on ``database_url`` with its API serving OAuth callbacks on loopback."""
    runtime = Runtime(Settings(home=home, database_url=normalize_database_url(database_url)))
    api = serve_in_thread(create_app(runtime))
    runtime.api_base_url = api.base_url
    try:
        yield runtime
    finally:
        api.stop()
        runtime.close()


@contextmanager
def hub_on(kind: str, home: Path) -> Iterator[Runtime]:
    """``running_hub`` on a fresh SQLite file or a throw-away PostgreSQL database (skipped with a
    message when PostgreSQL is absent, an error when ``SELLERHUB_REQUIRE_POSTGRES=1``)."""
    import pytest

    from tests.conftest import create_postgres_database, drop_postgres_database

    if kind == "sqlite":
        with running_hub(home, f"sqlite:///{home / 'warehouse.db'}") as runtime:
            yield runtime
        return
    created = create_postgres_database()
    if created is None:
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432; PostgreSQL tests skipped")
    url, server = created
    try:
        with running_hub(home, url) as runtime:
            yield runtime
    finally:
        drop_postgres_database(url, server)


async def connect(
    runtime: Runtime, sellers: int = 3, platforms: Sequence[str] | None = None
) -> list[Connection]:
    tenant_id = ensure_demo_tenant(runtime)
    if platforms is None:
        await connect_sellers(runtime, tenant_id, sellers)
    else:
        await connect_sellers(runtime, tenant_id, sellers, platforms)
    return control.list_connections(runtime.engine, statuses=["active"])


def sandbox_get(runtime: Runtime, platform: str, path: str) -> Any:
    response = httpx.get(f"{runtime.sandbox().base_url(platform)}{path}", timeout=30)
    response.raise_for_status()
    return response.json()


def sandbox_post(runtime: Runtime, platform: str, path: str, body: Any) -> Any:
    response = httpx.post(f"{runtime.sandbox().base_url(platform)}{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json() if response.content else None


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows per canonical table, plus versions and raw records."""
    models: dict[str, Any] = {**CANONICAL_TABLES, "versions": CanonicalVersion, "raw": RawRecord}
    counts = {}
    with Session(engine) as session:
        for name, model in models.items():
            counts[name] = int(
                session.execute(select(func.count()).select_from(table_of(model))).scalar_one()
            )
    return counts


def _rows(engine: Engine, entity: str, connection_id: str) -> list[Any]:
    table = table_of(CANONICAL_TABLES[entity])
    with Session(engine) as session:
        return list(
            session.execute(select(table).where(table.c.connection_id == connection_id)).all()
        )


def _sums(rows: Sequence[Any], field: str) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        totals[row.currency] += getattr(row, field)
    return {currency: amount for currency, amount in totals.items()}


def _truth_sums(entry: dict[str, Any], field: str) -> dict[str, Decimal]:
    return {c.upper(): Decimal(v) for c, v in entry.get("sums", {}).get(field, {}).items()}


def _drop_zero(totals: dict[str, Decimal]) -> dict[str, Decimal]:
    return {c: a for c, a in totals.items() if a != 0}


def _base_id(external_id: str) -> str:
    """Split rows (``txn:fee``) belong to the platform record before the colon."""
    return external_id.split(":", 1)[0]


def expected_vs_actual(
    engine: Engine, connection: Connection, truth: dict[str, Any]
) -> list[tuple[str, Any, Any]]:
    """(what, expected from the platform, found in the warehouse) for every check."""
    account = truth["accounts"][connection.platform_account_id]
    checks: list[tuple[str, Any, Any]] = []

    def check(what: str, expected: Any, actual: Any) -> None:
        checks.append(
            (f"{connection.platform}/{connection.platform_account_id} {what}", expected, actual)
        )

    def count_and_sum(entity: str, truth_key: str, field: str, truth_field: str) -> None:
        rows = _rows(engine, entity, connection.id)
        entry = account[truth_key]
        check(f"{entity} count", entry["count"], len(rows))
        check(
            f"{entity} {field}",
            _drop_zero(_truth_sums(entry, truth_field)),
            _drop_zero(_sums(rows, field)),
        )

    transactions = _rows(engine, "transactions", connection.id)
    if connection.platform == "amazon":
        count_and_sum("orders", "orders", "gross", "grand_total")
        count_and_sum("order_lines", "order_items", "line_total", "item_total")
        entry = account["transactions"]
        check(
            "transactions (platform records)",
            entry["count"],
            len({_base_id(r.external_id) for r in transactions}),
        )
        check(
            "transactions signed sum",
            _drop_zero(_truth_sums(entry, "total_amount")),
            _drop_zero(_sums(transactions, "amount")),
        )
        check(
            "refunds count",
            account["refund_transactions"]["count"],
            len(_rows(engine, "refunds", connection.id)),
        )
    elif connection.platform == "stripe":
        count_and_sum("orders", "charges", "gross", "amount")
        count_and_sum("refunds", "refunds", "amount", "amount")
        count_and_sum("payouts", "payouts", "amount", "amount")
        count_and_sum("disputes", "disputes", "amount", "amount")
        entry = account["balance_transactions"]
        check(
            "transactions (platform records)",
            entry["count"],
            len({_base_id(r.external_id) for r in transactions}),
        )
        check(
            "transactions signed sum = net",
            _drop_zero(_truth_sums(entry, "net")),
            _drop_zero(_sums(transactions, "amount")),
        )
    else:
        raise AssertionError(f"no truth comparison for {connection.platform}")
    return checks


def assert_matches_truth(runtime: Runtime, connections: Sequence[Connection]) -> None:
    mismatches = []
    truths = {
        p: sandbox_get(runtime, p, "/_sandbox/truth") for p in {c.platform for c in connections}
    }
    for connection in connections:
        for what, expected, actual in expected_vs_actual(
            runtime.engine, connection, truths[connection.platform]
        ):
            if expected != actual:
                mismatches.append(f"{what}: platform {expected} != warehouse {actual}")
    assert not mismatches, "\n".join(mismatches)
