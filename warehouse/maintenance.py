"""Keep PostgreSQL's planner statistics current while a backfill grows the tables.

Without statistics (autovacuum lags behind a fast backfill, or is off) PostgreSQL estimates a
(connection, stream) prefix of ``raw_records`` at about one row and applies ``external_id IN
(...)`` as a filter instead of an index condition, so each page's look-up re-reads the whole
stream and a backfill slows down quadratically (measured in docs/benchmarks.md).
https://www.postgresql.org/docs/current/populate.html#POPULATE-ANALYZE
"""

from __future__ import annotations

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
    """Runs ANALYZE each time the rows a run inserted have doubled (5k, 10k, 20k, ...)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._inserted = 0
        self._next = FIRST_ANALYZE_AT

    def add(self, inserted: int) -> bool:
        self._inserted += inserted
        if self._engine.dialect.name != "postgresql" or self._inserted < self._next:
            return False
        while self._next <= self._inserted:
            self._next *= 2
        analyze_tables(self._engine)
        return True
