"""CPU per record of the write transaction alone, on pages prepared beforehand.

    PYTHONPATH=. .venv/bin/python -m bench.write_only [--records 100000] [--data FILE]
        [--url sqlite:////tmp/sellerhub-write-only.db]

Reads, maps and prepares ``--records`` bench records into memory first (not timed), then writes
them page by page with ``warehouse.writer.write_prepared`` into a new database, timing the whole
write and, inside it, the driver calls per statement. ``bench.load`` measures the whole path;
this says how much of it is the write.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import case_ours
from bench.generate import generate, iter_pages
from normalizer.registry import MAPPING_VERSION
from sellerhub.memory import freeze_startup_objects
from warehouse import writer
from warehouse.driver_rows import Dialect
from warehouse.page_prep import prepare_page


@contextmanager
def _timed_statements(spent: defaultdict[str, float]) -> Iterator[None]:
    """Time the writer's bulk driver calls by table (restored afterwards)."""
    labels: dict[str, Callable[..., str]] = {
        "insert_rows": lambda _conn, _dialect, table, *_: f"insert {table.name}",
        "executemany": lambda _conn, sql, _rows: sql.split(" SET")[0].lower(),
        "mark_dirty": lambda *_: "metrics marks",
    }
    originals: dict[str, Callable[..., Any]] = {name: getattr(writer, name) for name in labels}

    def timed(name: str, label: Callable[..., str]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            started = time.process_time()
            try:
                return originals[name](*args)
            finally:
                spent[label(*args)] += time.process_time() - started

        return call

    for name, label in labels.items():
        setattr(writer, name, timed(name, label))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(writer, name, original)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=None, help="a bench.generate file")
    parser.add_argument("--url", default="sqlite:////tmp/sellerhub-write-only.db")
    args = parser.parse_args()
    if args.url.startswith("sqlite:///"):
        database = Path(args.url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    data = args.data or generate(
        Path(f"/tmp/sellerhub-bench-write-{args.records}.jsonl"), args.records
    )
    engine = case_ours.prepare(args.url)
    books = case_ours.Bookkeeping(engine)
    dialect = Dialect.named(engine.dialect.name)
    pages = []
    count = 0
    for page in iter_pages(data, 1000):
        scope, run_id = books.run_for(page.account, page.stream)
        mapped, quarantined = case_ours.map_page(page)
        pages.append((scope, run_id, page.stream, prepare_page(mapped, dialect), quarantined))
        count += len(page.records)
        if count >= args.records:
            break
    freeze_startup_objects()
    spent: defaultdict[str, float] = defaultdict(float)
    started = time.process_time()
    with _timed_statements(spent):
        for scope, run_id, stream, prepared, quarantined in pages:
            writer.write_prepared(
                engine,
                scope=scope,
                stream=stream,
                run_id=run_id,
                mapping_version=MAPPING_VERSION[case_ours.PLATFORM],
                page=prepared,
                quarantined=quarantined,
                state=writer.StreamStateUpdate(cursor=None, pending=None),
            )
    total = time.process_time() - started
    engine.dispose()
    for label, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"{label:40s} {1e6 * seconds / count:6.1f} µs/record")
    print(f"{'write_prepared in all':40s} {1e6 * total / count:6.1f} µs/record ({count:,} records)")


if __name__ == "__main__":
    main()
