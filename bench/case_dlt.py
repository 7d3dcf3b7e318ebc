"""Case (b), dlt: the same raw records loaded with ``write_disposition="merge"`` on ``id``.

dlt's defaults otherwise (nested lists such as ``refunds.data`` and ``fee_details`` become child
tables; the merge strategy is ``delete-insert`` through a staging dataset,
https://dlthub.com/docs/general-usage/merge-loading). SQLite goes through the ``sqlalchemy``
destination (https://dlthub.com/docs/dlt-ecosystem/destinations/sqlalchemy), PostgreSQL through
``postgres``. Telemetry is off: this machine has no network.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.databases import Database
from bench.generate import iter_pages

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
warnings.filterwarnings("ignore", module="dlt")
warnings.filterwarnings("ignore", message=".*(subquery|Subquery).*")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")


def run(
    database: Database, data: Path, page_size: int, workdir: Path
) -> tuple[Callable[[], int], Callable[[], None]]:
    import dlt  # imported here: only this case needs the optional extra

    counted = [0]

    @dlt.resource(name="stripe", write_disposition="merge", primary_key="id")
    def records() -> Iterator[Any]:
        for page in iter_pages(data, page_size):
            for record in page.records:
                record["connection_id"] = page.account
            counted[0] += len(page.records)
            yield dlt.mark.with_table_name(page.records, page.stream)

    destination: Any
    if database.backend == "sqlite":
        # dlt runs its load jobs in parallel threads: with SQLite's default 5 s busy timeout a
        # 1M load failed once with "database is locked", so wait longer for the lock
        destination = dlt.destinations.sqlalchemy(credentials=f"{database.url}?timeout=120")
    else:
        destination = dlt.destinations.postgres(credentials=_with_password(database.libpq_dsn()))
    # a fresh pipeline directory: no state left by an earlier case
    pipelines_dir = Path(tempfile.mkdtemp(prefix="dlt-pipelines-", dir=workdir))
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{database.backend}",
        destination=destination,
        dataset_name="stripe",
        pipelines_dir=str(pipelines_dir),
    )

    def load() -> int:
        info = pipeline.run(records())
        info.raise_on_failed_jobs()
        return counted[0]

    return load, lambda: shutil.rmtree(pipelines_dir, ignore_errors=True)


def _with_password(dsn: str) -> str:
    """dlt's postgres credentials insist on a password; the local server trusts loopback, so a
    placeholder is passed when the URL has none (a server that checks passwords needs a real one
    in ``SELLERHUB_BENCH_POSTGRES_URL``)."""
    from sqlalchemy.engine import make_url

    url = make_url(dsn)
    if url.password:
        return dsn
    return url.set(password="unused").render_as_string(hide_password=False)
