"""Alembic environment: the engine comes from the caller (warehouse.migrate) or DATABASE_URL."""

from __future__ import annotations

import importlib

from alembic import context
from sqlmodel import SQLModel

import vault.table  # noqa: F401  (registers vault_secrets)
import warehouse.tables  # noqa: F401  (registers the warehouse tables)
from sellerhub.settings import Settings
from warehouse.engine import make_engine

# table modules of later stages register themselves on the same metadata
for _module in ("warehouse.scoring_tables", "warehouse.connect_tables"):
    try:
        importlib.import_module(_module)
    except ModuleNotFoundError as _missing:
        if _missing.name != _module:
            raise

target_metadata = SQLModel.metadata


def run_migrations() -> None:
    engine = context.config.attributes.get("engine")
    if engine is None:
        engine = make_engine(Settings.from_env().database_url)
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
