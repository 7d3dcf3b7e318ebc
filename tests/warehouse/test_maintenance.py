"""Planner statistics are refreshed as a backfill doubles the tables (PostgreSQL only)."""

from __future__ import annotations

from sqlalchemy import Engine, text

from warehouse.maintenance import FIRST_ANALYZE_AT, GrowthAnalyzer


def _analyze_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'raw_records'")
            ).scalar_one()
        )


def test_analyze_runs_each_time_the_inserted_rows_double(engine: Engine) -> None:
    analyzer = GrowthAnalyzer(engine)
    ran = [analyzer.add(n) for n in (FIRST_ANALYZE_AT - 1, 1, 10, FIRST_ANALYZE_AT, 1)]
    if engine.dialect.name != "postgresql":
        assert ran == [False] * 5  # SQLite keeps no planner statistics to refresh
        return
    assert ran == [False, True, False, True, False]
    assert _analyze_count(engine) >= 1
