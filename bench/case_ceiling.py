"""Case (c), the ceiling: parse the same records, upsert plain tuples with the driver's batch
insert.

No raw rows, no versions, no redaction, no ORM: one tuple per record into one table per stream,
sorted by key, one transaction per page (the same page size as ours, so the comparison is about
the work per record, not the commit rate). SQLite: ``sqlite3`` ``executemany`` with
``ON CONFLICT DO UPDATE``. PostgreSQL: ``COPY`` into a temporary table, then
``INSERT .. SELECT .. ON CONFLICT DO UPDATE`` (``copy``), or psycopg's pipelined ``executemany``
(``executemany``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from bench.databases import Database
from bench.generate import Page, iter_pages

COLUMNS = {
    "charges": (
        "connection_id", "id", "created", "status", "currency", "amount", "amount_refunded",
        "receipt_email", "country",
    ),
    "balance_transactions": (
        "connection_id", "id", "created", "type", "status", "currency", "amount", "fee", "net",
        "source",
    ),
}  # fmt: skip
TYPES = {
    "connection_id": "TEXT NOT NULL", "id": "TEXT NOT NULL", "created": "BIGINT",
    "amount": "BIGINT", "amount_refunded": "BIGINT", "fee": "BIGINT", "net": "BIGINT",
}  # fmt: skip


def _tuple(page: Page, record: dict[str, Any]) -> tuple[Any, ...]:
    if page.stream == "charges":
        address = (record.get("billing_details") or {}).get("address") or {}
        return (
            page.account, record["id"], record["created"], record["status"], record["currency"],
            record["amount"], record["amount_refunded"], record.get("receipt_email"),
            address.get("country"),
        )  # fmt: skip
    return (
        page.account, record["id"], record["created"], record["type"], record["status"],
        record["currency"], record["amount"], record["fee"], record["net"], record.get("source"),
    )  # fmt: skip


def _ddl(stream: str) -> str:
    columns = ", ".join(f"{name} {TYPES.get(name, 'TEXT')}" for name in COLUMNS[stream])
    return f"CREATE TABLE {stream} ({columns}, PRIMARY KEY (connection_id, id))"


def _upsert_sql(stream: str, source: str, placeholder: str) -> str:
    names = COLUMNS[stream]
    updates = ", ".join(f"{name} = excluded.{name}" for name in names[2:])
    values = (
        f"VALUES ({', '.join([placeholder] * len(names))})"
        if source == "values"
        else f"SELECT {', '.join(names)} FROM {source}"
    )
    where = " WHERE true" if source != "values" else ""  # SQLite parser needs it after SELECT
    return (
        f"INSERT INTO {stream} ({', '.join(names)}) {values}{where} "
        f"ON CONFLICT (connection_id, id) DO UPDATE SET {updates}"
    )


def _rows(page: Page) -> list[tuple[Any, ...]]:
    return sorted((_tuple(page, r) for r in page.records), key=lambda row: row[1])


def load_sqlite(path: Path, data: Path, page_size: int, parser: str) -> int:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    for stream in COLUMNS:
        db.execute(_ddl(stream))
    sql = {stream: _upsert_sql(stream, "values", "?") for stream in COLUMNS}
    count = 0
    for page in iter_pages(data, page_size, parser):
        db.execute("BEGIN")
        db.executemany(sql[page.stream], _rows(page))
        db.execute("COMMIT")
        count += len(page.records)
    db.close()
    return count


def load_postgres(dsn: str, data: Path, page_size: int, method: str, parser: str) -> int:
    with psycopg.connect(dsn) as db:
        for stream in COLUMNS:
            db.execute(_ddl(stream))
            if method == "copy":
                db.execute(
                    f"CREATE TEMP TABLE stage_{stream} (LIKE {stream}) ON COMMIT DELETE ROWS"
                )
        db.commit()
        count = 0
        for page in iter_pages(data, page_size, parser):
            rows = _rows(page)
            with db.cursor() as cur:
                if method == "copy":
                    names = ", ".join(COLUMNS[page.stream])
                    with cur.copy(f"COPY stage_{page.stream} ({names}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                    cur.execute(_upsert_sql(page.stream, f"stage_{page.stream}", "%s"))
                else:
                    cur.executemany(_upsert_sql(page.stream, "values", "%s"), rows)
            db.commit()
            count += len(page.records)
    return count


def run(
    database: Database, data: Path, page_size: int, method: str = "copy", parser: str = "json"
) -> tuple[Callable[[], int], Callable[[], None]]:
    """``parser``: ``json`` (a bare script's choice) or ``sellerhub`` (the hub's msgspec parser,
    as ours and dlt get it)."""
    if database.backend == "sqlite":
        return (lambda: load_sqlite(database.sqlite_path, data, page_size, parser)), lambda: None
    dsn = database.libpq_dsn()
    return (lambda: load_postgres(dsn, data, page_size, method, parser)), lambda: None
