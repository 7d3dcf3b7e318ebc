"""The README's scoring queries, run as written: the HTTP one with curl against the running API,
the SQL one on the PostgreSQL warehouse (it is PostgreSQL's SQL)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, text

from warehouse.tables import OrderRow, TransactionRow, table_of

from .conftest import World

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_block(marker: str, language: str) -> str:
    after = README.read_text().split(f"<!-- {marker}", 1)[1]
    found = re.search(rf"```{language}\n(.*?)```", after, re.DOTALL)
    assert found, f"README has no {language} block after {marker}"
    return found.group(1)


def test_readme_http_query(world: World) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    seller = sorted(world.sellers_a)[0]
    as_of = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    script = readme_block("scoring-http", "sh").replace("http://127.0.0.1:8000", world.base_url)
    script = re.sub(r"^AS_OF=\S+", f"AS_OF={as_of:%Y-%m-%dT%H:%M:%SZ}", script, flags=re.MULTILINE)
    env = {**os.environ, "SELLERHUB_API_KEY": world.key_a, "SELLER_ID": seller}
    done = subprocess.run(
        ["bash", "-euc", script], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    body = json.loads(done.stdout)
    orders = table_of(OrderRow)
    with world.runtime.engine.connect() as conn:
        known = {
            row.external_id
            for row in conn.execute(
                select(orders.c.external_id, orders.c.first_seen_at).where(
                    orders.c.seller_id == seller
                )
            )
            if row.first_seen_at <= as_of
        }
    assert len(known) > 100
    assert len(body["data"]) == 100 and body["next_cursor"]
    assert {row["seller_id"] for row in body["data"]} == {seller}
    assert {row["external_id"] for row in body["data"]} <= known


def test_readme_sql_query(world: World) -> None:
    engine = world.runtime.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("the README's SQL query is written for PostgreSQL")
    seller = sorted(world.sellers_a)[0]
    table = table_of(TransactionRow)
    with engine.begin() as conn:
        now = conn.execute(text("SELECT now()")).scalar_one()  # the same now() as the query's
        answer = conn.execute(text(readme_block("scoring-sql", "sql")), {"seller_id": seller}).all()
        rows = conn.execute(
            select(table.c.occurred_at, table.c.currency, table.c.type, table.c.amount).where(
                table.c.seller_id == seller
            )
        ).all()
    expected: dict[tuple[datetime, str], dict[str, Decimal]] = defaultdict(
        lambda: {"sale": Decimal(0), "refund": Decimal(0), "fee": Decimal(0)}
    )
    for row in rows:
        if row.occurred_at < now - timedelta(days=365):
            continue
        utc = row.occurred_at.astimezone(UTC)
        month = datetime(utc.year, utc.month, 1)
        sums = expected[(month, row.currency)]
        if row.type in sums:
            sums[row.type] += row.amount
    assert answer, "the seller has sales in the last year"
    got = {
        (r.month, r.currency): {"sale": r.gross_sales, "refund": -r.refunds, "fee": -r.fees}
        for r in answer
    }
    assert got == dict(expected)
    assert [(r.month, r.currency) for r in answer] == sorted(got)
