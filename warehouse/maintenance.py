"""Keep PostgreSQL's planner statistics current while a backfill grows the tables.

Without statistics (autovacuum lags behind a fast backfill, or is off) PostgreSQL estimates a
(connection, stream) prefix of ``raw_records`` at about one row and applies ``external_id IN
(...)`` as a filter instead of an index condition, so each page's look-up re-reads the whole
stream and a backfill slows down quadratically (measured in docs/benchmarks.md).
https://www.postgresql.org/docs/current/populate.html#POPULATE-ANALYZE
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine, text

from warehouse.tables import CANONICAL_TABLES

FIRST_ANALYZE_AT = 5_000


def analyze_tables(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        return
    tables = ["raw_records", "canonical_versions", *CANONICAL_TABLES]
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("ANALYZE " + ", ".join(tables)))


class GrowthAnalyzer:
    """Runs ANALYZE each time the rows written through it have doubled (5k, 10k, 20k, ...).

    Share one across all the runs of a process: one per run re-analyzed the same tables at each
    run's own thresholds (about 60 ANALYZEs for a 20-run load; docs/benchmarks.md measured one
    per process at 1.5x the rate). Safe to call from several worker threads.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._inserted = 0
        self._next = FIRST_ANALYZE_AT
        self._lock = threading.Lock()

    def add(self, inserted: int) -> bool:
        if self._engine.dialect.name != "postgresql":
            return False
        with self._lock:
            self._inserted += inserted
            if self._inserted < self._next:
                return False
            while self._next <= self._inserted:
                self._next *= 2
        analyze_tables(self._engine)
        return True
