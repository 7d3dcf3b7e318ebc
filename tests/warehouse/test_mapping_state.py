"""Operators are told when a connection's rows predate the current mappings
(``warehouse.mapping_state``, migration 0008), and ``renormalize`` clears it."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, insert, select, update
from typer.testing import CliRunner

from normalizer.context import MappingContext
from normalizer.registry import MAPPING_VERSION
from sellerhub.cli import app
from tests.cli.payloads import stripe_charge
from tests.scoring.helpers import make_scope, write_stripe_charges
from warehouse import mapping_state
from warehouse.engine import make_engine
from warehouse.migrate import alembic_config
from warehouse.renormalize import renormalize
from warehouse.tables import Connection, RawRecord, table_of
from warehouse.writer import ConnectionScope

CURRENT = MAPPING_VERSION["stripe"]
CONTEXT = MappingContext(platform="stripe", buyer_hash_key=b"k" * 32)


def _connection(engine: Engine, connection_id: str) -> Connection:
    table = table_of(Connection)
    with engine.connect() as conn:
        row = conn.execute(select(table).where(table.c.id == connection_id)).one()
    return Connection.model_validate(dict(row._mapping))


def _set_version(engine: Engine, connection_id: str, version: int | None) -> None:
    table = table_of(Connection)
    with engine.begin() as conn:
        conn.execute(
            update(table).where(table.c.id == connection_id).values(mapping_version=version)
        )


def _sync_charges(engine: Engine, scope: ConnectionScope, version: int, count: int = 3) -> None:
    """Charges written as a sync under mapping ``version`` would write them."""
    raws = [stripe_charge(f"ch_{i}", 1000 + i, "usd", 1767225600 + 3600 * i) for i in range(count)]
    write_stripe_charges(engine, scope, CONTEXT, raws, mapping_version=version)


def test_a_new_connection_starts_at_the_current_mapping_version(engine: Engine) -> None:
    scope = make_scope(engine, "stripe")
    connection = _connection(engine, scope.connection_id)
    assert connection.mapping_version == CURRENT
    assert mapping_state.behind(connection) is None
    assert mapping_state.reminder(connection) is None


def test_rows_from_an_older_mapping_are_reported_until_renormalize(engine: Engine) -> None:
    scope = make_scope(engine, "stripe")
    _sync_charges(engine, scope, CURRENT - 1)
    _set_version(engine, scope.connection_id, CURRENT - 1)  # as migration 0008 would find it

    older = _connection(engine, scope.connection_id)
    assert mapping_state.behind(older) == (CURRENT - 1, CURRENT)
    message = mapping_state.reminder(older)
    assert message is not None
    assert f"v{CURRENT - 1}" in message and f"v{CURRENT}" in message
    assert "sellerhub renormalize --platform stripe" in message

    renormalize(engine, stream="charges")  # one stream only: the others were not mapped again
    assert _connection(engine, scope.connection_id).mapping_version == CURRENT - 1

    report = renormalize(engine)
    assert report.failures == []
    assert _connection(engine, scope.connection_id).mapping_version == CURRENT
    assert mapping_state.reminder(_connection(engine, scope.connection_id)) is None


def test_a_renormalize_that_fails_a_record_leaves_the_reminder(engine: Engine) -> None:
    scope = make_scope(engine, "stripe")
    _sync_charges(engine, scope, CURRENT - 1)
    _set_version(engine, scope.connection_id, CURRENT - 1)
    raw = table_of(RawRecord)
    with engine.begin() as conn:  # a stored charge the current mapping refuses
        conn.execute(
            insert(raw).values(
                connection_id=scope.connection_id,
                stream="charges",
                external_id="ch_bad",
                payload={"id": "ch_bad", "object": "charge", "status": "no-such-status"},
                payload_hash="0" * 64,
            )
        )
    report = renormalize(engine)
    assert [f.external_id for f in report.failures] == ["ch_bad"]
    assert _connection(engine, scope.connection_id).mapping_version == CURRENT - 1


def test_migration_0008_starts_each_connection_at_its_oldest_rows(engine: Engine) -> None:
    config = alembic_config(engine)
    old = make_scope(engine, "stripe", account="acct_old")
    _sync_charges(engine, old, CURRENT - 1, count=2)
    empty = make_scope(engine, "stripe", account="acct_empty")
    command.downgrade(config, "0007")
    command.upgrade(config, "heads")
    assert _connection(engine, old.connection_id).mapping_version == CURRENT - 1
    assert _connection(engine, empty.connection_id).mapping_version is None


def test_status_prints_the_reminder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("SELLERHUB_HOME", str(home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    engine = make_engine(f"sqlite:///{home / 'warehouse.db'}")
    try:
        from warehouse.migrate import upgrade

        upgrade(engine)
        scope = make_scope(engine, "stripe")
        _set_version(engine, scope.connection_id, CURRENT - 1)
    finally:
        engine.dispose()
    result = CliRunner().invoke(app, ["status", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert f"{scope.connection_id}: rows written by stripe mapping v{CURRENT - 1}" in (
        " ".join(result.output.split())
    )
