"""Case (a'), ours through the bulk importer (``sellerhub.bulk_import``): the same rows as
``ours`` (raw rows kept, canonical rows upserted with versions, cursor, run counters, metrics
hook, one transaction per page), with parsing, mapping, redaction and row preparation in worker
processes and the writes in this one, in order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Engine

from bench.case_ours import CONTEXT, Bookkeeping, prepare
from bench.generate import iter_line_pages
from connectors.registry import get_connector
from sellerhub.bulk_import import RawPage, import_pages
from sellerhub.memory import freeze_startup_objects
from warehouse.writer import StreamStateUpdate

PRIMARY_KEY = {stream.name: stream.primary_key for stream in get_connector("stripe").streams}


def _pages(engine: Engine, data: Path, page_size: int) -> Iterator[RawPage]:
    books = Bookkeeping(engine)
    for account, stream, lines in iter_line_pages(data, page_size):
        scope, run_id = books.run_for(account, stream)
        yield RawPage(
            scope=scope,
            stream=stream,
            primary_key=PRIMARY_KEY[stream],
            run_id=run_id,
            context=CONTEXT,
            lines=lines,
            # as ``ours``: the cursor saved with each page (the file is in created order)
            state=StreamStateUpdate(cursor=None, pending=None),
        )


def load(engine: Engine, data: Path, page_size: int, workers: int | None) -> int:
    return import_pages(engine, _pages(engine, data, page_size), workers=workers).records


def run(
    url: str, data: Path, page_size: int, workers: int | None = None
) -> tuple[Callable[[], int], Callable[[], None]]:
    engine = prepare(url)
    freeze_startup_objects()
    return (lambda: load(engine, data, page_size, workers)), engine.dispose
