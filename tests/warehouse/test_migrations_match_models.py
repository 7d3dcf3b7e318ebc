"""The migrations build exactly the schema the table models declare (tables, columns, indexes)."""

from __future__ import annotations

import importlib

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlmodel import SQLModel

MODEL_MODULES = (
    "warehouse.tables",
    "warehouse.scoring_tables",
    "warehouse.connect_tables",
    "vault.table",
)


def test_upgraded_database_has_no_difference_from_the_models(engine: Engine) -> None:
    for module in MODEL_MODULES:
        importlib.import_module(module)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert differences == []


def test_write_path_indexes_are_only_the_needed_ones(engine: Engine) -> None:
    """Each canonical write maintains these; a redundant one costs every row (issue 5)."""
    with engine.connect() as conn:
        names = {i["name"] for i in conn.dialect.get_indexes(conn, "canonical_versions")}
        orders = {i["name"] for i in conn.dialect.get_indexes(conn, "orders")}
    assert "ix_canonical_versions_lookup" not in names
    assert "ix_orders_seller_id" not in orders
    assert "ix_orders_bucket" in orders
