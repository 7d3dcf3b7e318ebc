"""Migration 0010: on PostgreSQL, stored JSON written after it is compressed with LZ4 (pglz
before it, and again after a downgrade); payloads read back the same either way. On SQLite it
changes nothing and goes down and up cleanly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, text

from normalizer.schema import OrderStatus
from tests.scoring.helpers import charge_order, make_scope, write
from warehouse.migrate import alembic_config
from warehouse.writer import ConnectionScope

STORED_JSON = {
    ("raw_records", "payload"),
    ("quarantine", "payload"),
    ("canonical_versions", "content"),
}


def _big_payload(external_id: str) -> dict[str, Any]:
    """Well over PostgreSQL's 2 KB TOAST threshold, and compressible."""
    return {"id": external_id, "description": f"order {external_id} " * 400}


def _write_one(engine: Engine, scope: ConnectionScope, external_id: str) -> dict[str, Any]:
    payload = _big_payload(external_id)
    write(
        engine,
        scope,
        "charges",
        [[charge_order(external_id, OrderStatus.PAID)]],
        payloads=[payload],
    )
    return payload


def _compression(engine: Engine) -> dict[tuple[str, str], str]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.relname, a.attname, a.attcompression FROM pg_attribute AS a"
            " JOIN pg_class AS c ON c.oid = a.attrelid"
            " WHERE c.relname IN ('raw_records', 'quarantine', 'canonical_versions')"
            " AND a.attname IN ('payload', 'content')"
        ))  # fmt: skip
        return {(row[0], row[1]): row[2] for row in rows}


def _stored(engine: Engine, external_id: str) -> tuple[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT pg_column_compression(payload), payload FROM raw_records"
                " WHERE external_id = :e"
            ),
            {"e": external_id},
        ).one()
    return row[0], row[1]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_stored_json_uses_lz4_from_0010_on(engine: Engine) -> None:
    with engine.connect() as conn:
        methods = conn.execute(
            text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
        ).scalar()
    if methods is None or "lz4" not in methods:
        pytest.skip("this PostgreSQL has no LZ4 (before 14, or built without it)")
    assert _compression(engine) == {key: "l" for key in STORED_JSON}
    scope = make_scope(engine, "stripe", account="acct_0010")
    after = _write_one(engine, scope, "ch_after")
    assert _stored(engine, "ch_after") == ("lz4", after)

    config = alembic_config(engine)
    command.downgrade(config, "0009")
    assert _compression(engine) == {key: "" for key in STORED_JSON}  # the server's default
    before = _write_one(engine, scope, "ch_before")
    assert _stored(engine, "ch_before") == ("pglz", before)
    assert _stored(engine, "ch_after") == ("lz4", after)  # written values are left as they are

    command.upgrade(config, "head")
    assert _compression(engine) == {key: "l" for key in STORED_JSON}
    assert _stored(engine, "ch_before") == ("pglz", before)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_goes_down_and_up_unchanged(engine: Engine) -> None:
    scope = make_scope(engine, "stripe", account="acct_0010")
    payload = _write_one(engine, scope, "ch_1")
    config = alembic_config(engine)
    command.downgrade(config, "0009")
    command.upgrade(config, "head")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT payload FROM raw_records")).scalar_one()
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert revision == "0010"
    assert json.loads(stored) == payload
