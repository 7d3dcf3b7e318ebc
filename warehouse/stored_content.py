"""A canonical row's content, rebuilt from its stored columns.

The current version of a row is the canonical row itself (migrations 0007 and 0009). When the
page writer closes it, its content for ``canonical_versions`` is rebuilt here from the row's
typed columns. It is the JSON ``fingerprints.canonical_content`` gave when the version was written:
decimals keep their exact text (SQLite stores it, PostgreSQL's NUMERIC keeps the scale), times
come back as the same UTC instant (RFC 3339 with ``Z``), dates as ISO text, enums by value.
``tests/warehouse/test_stored_content.py`` checks the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select, update

from normalizer.schema import ENTITY_MODELS
from warehouse.fingerprints import content_text, json_ready
from warehouse.tables import CANONICAL_TABLES, CanonicalVersion, table_of


def row_content(entity: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """The entity's schema fields of a typed canonical row, as JSON-ready values."""
    return {name: json_ready(row[name]) for name in ENTITY_MODELS[entity].model_fields}


def row_content_text(entity: str, row: Mapping[str, Any]) -> str:
    """``row_content`` as stored in ``canonical_versions.content`` (sorted compact JSON)."""
    return content_text(row_content(entity, row)).decode()


def fill_current_content(conn: Connection) -> int:
    """Write the content of every current version that has none (migration 0007's downgrade, to
    a schema where ``content`` is required). Returns the versions filled.

    Selects the schema fields only: the canonical tables of that schema lack later columns."""
    versions = table_of(CanonicalVersion)
    filled = 0
    for entity, model in CANONICAL_TABLES.items():
        table = table_of(model)
        rows = conn.execute(
            select(
                *(table.c[name] for name in ENTITY_MODELS[entity].model_fields),
                versions.c.id.label("version_row_id"),
            )
            .join(
                versions,
                (versions.c.connection_id == table.c.connection_id)
                & (versions.c.external_id == table.c.external_id)
                & (versions.c.entity == entity)
                & versions.c.valid_to.is_(None),
            )
            .where(versions.c.content.is_(None))
        )
        for row in rows:
            conn.execute(
                update(versions)
                .where(versions.c.id == row.version_row_id)
                .values(content=row_content(entity, dict(row._mapping)))
            )
            filled += 1
    return filled
