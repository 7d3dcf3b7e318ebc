"""Check that ``bench/fast_path.py`` writes exactly the rows ``write_page`` writes.

``python -m bench.check_fast [--records 4000] [--postgres]`` loads the same records twice through
each path (the second pass changes some charges, so versions are closed and added), with the
same ``fetched_at``, then compares every table row by row. Exits 1 on a difference.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text

from bench import case_fast, case_ours, databases
from bench.fast_path import redact_cow, write_page_fast
from bench.generate import Page, generate, iter_pages
from normalizer.pii import redact
from normalizer.registry import MAPPING_VERSION
from warehouse.writer import StreamStateUpdate, write_page

FIRST = datetime(2026, 1, 1, tzinfo=UTC)
SECOND = datetime(2026, 1, 2, tzinfo=UTC)


def _changed(page: Page) -> Page:
    """Every third charge partly refunded: its canonical order changes."""
    records = []
    for index, record in enumerate(page.records):
        if page.stream == "charges" and index % 3 == 0:
            record = {**record, "amount_refunded": record["amount"] // 2}
        records.append(record)
    return Page(page.account, page.stream, records)


def _load(engine: Engine, data: Path, write: Callable[..., Any], mapper: Any) -> None:
    books = case_ours.Bookkeeping(engine)
    for when, change in ((FIRST, False), (SECOND, True)):
        for page in iter_pages(data, 250):
            page = _changed(page) if change else page
            scope, run_id = books.run_for(page.account, page.stream)
            mapped, quarantined = mapper(page)
            write(
                engine,
                scope=scope,
                stream=page.stream,
                run_id=run_id,
                mapping_version=MAPPING_VERSION[case_ours.PLATFORM],
                records=mapped,
                quarantined=quarantined,
                state=StreamStateUpdate(cursor=case_ours.cursor_of(page), pending=None),
                fetched_at=when,
            )


# written by the benchmark's set-up at the time it runs, not by the page writer
SET_UP = {"alembic_version", "tenants", "sellers", "connections"}
SET_UP_COLUMNS = {"started_at"}


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    tables = {}
    with engine.connect() as conn:
        inspector = inspect(conn)
        for name in sorted(set(inspector.get_table_names()) - SET_UP):
            columns = [c["name"] for c in inspector.get_columns(name)]
            kept = ", ".join(c for c in columns if c not in SET_UP_COLUMNS)
            rows = conn.execute(text(f"SELECT {kept} FROM {name}")).all()
            tables[name] = sorted((tuple(map(repr, row)) for row in rows), key=repr)
    return tables


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=4000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    server = databases.postgres_server() if args.postgres else None
    backend = "postgres" if server else "sqlite"
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        data = generate(directory / "check.jsonl", args.records, accounts=3)
        dumps = []
        for label, write, mapper in (
            ("writer", write_page, case_ours.map_page),
            ("fast", write_page_fast, case_fast.map_page),
        ):
            database = databases.create(backend, directory, label, server)
            try:
                engine = case_ours.prepare(database.url)
                _load(engine, data, write, mapper)
                dumps.append(_dump(engine))
                engine.dispose()
            finally:
                databases.drop(database, server)
        differences = [name for name in dumps[0] if dumps[0][name] != dumps[1].get(name)]
        for page in iter_pages(data, 500):  # the copy-on-write redaction itself
            for record in page.records:
                expected = redact(case_ours.PLATFORM, page.stream, record, case_ours.CONTEXT)
                got = redact_cow(case_ours.PLATFORM, page.stream, record, case_ours.CONTEXT)
                if expected != got:
                    differences.append(f"redaction of {record['id']}")
                    break
    counts = {name: len(rows) for name, rows in dumps[0].items() if rows}
    print(f"{backend}: rows per table {counts}")
    if differences:
        print(f"DIFFERENT: {differences}")
        return 1
    print("identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
