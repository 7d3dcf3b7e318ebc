"""``sellerhub import CONNECTION STREAM FILE`` through Typer (as ``sellerhub/cli.py`` adds it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session
from typer.testing import CliRunner

from sellerhub import control
from sellerhub.runtime import Runtime
from sellerhub.settings import Settings
from tests.cli.payloads import stripe_charge
from tests.scoring.helpers import make_scope, warehouse_cli
from warehouse.tables import Connection, QuarantinedRecord, SyncRun, SyncState


@pytest.fixture
def hub_with_connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Connection]:
    """A SQLite home with one tenant, seller and Stripe connection."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    home = tmp_path / "home"
    runtime = Runtime(Settings.from_env(home))
    try:
        make_scope(runtime.engine, "stripe", tenant="Import Lender")
        (connection,) = control.list_connections(runtime.engine)
    finally:
        runtime.close()
    return home, connection


def test_import_loads_records_and_reports_them(
    tmp_path: Path, hub_with_connection: tuple[Path, Connection]
) -> None:
    home, connection = hub_with_connection
    raws = [stripe_charge(f"ch_{i}", 1000 + i, "usd", 1767225600 + 3600 * i) for i in range(5)]
    export = tmp_path / "charges.jsonl"
    export.write_text(
        "\n".join([*(json.dumps(raw) for raw in raws[:3]), "{oops", *map(json.dumps, raws[3:])])
        + "\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    args = ["import", connection.id, "charges", str(export), "--home", str(home)]
    result = runner.invoke(warehouse_cli(), [*args, "--workers", "1", "--page-size", "2"])
    assert result.exit_code == 0, result.output
    assert "records" in result.output and "quarantined" in result.output
    runtime = Runtime(Settings.from_env(home))
    try:
        with Session(runtime.engine) as session:
            run = session.execute(select(SyncRun).where(SyncRun.trigger == "import")).scalar_one()
            assert (run.status, run.records, run.quarantined, run.pages) == ("succeeded", 5, 1, 3)
            assert session.get(SyncState, (connection.id, "charges")) is None  # cursor untouched
    finally:
        runtime.close()


@pytest.mark.parametrize(
    ("connection", "stream", "message"),
    [
        ("conn_missing", "charges", "no connection 'conn_missing'"),
        (None, "nope", "stripe has no stream 'nope'"),
    ],
)
def test_import_refuses_unknown_targets_in_one_line(
    tmp_path: Path,
    hub_with_connection: tuple[Path, Connection],
    connection: str | None,
    stream: str,
    message: str,
) -> None:
    home, existing = hub_with_connection
    export = tmp_path / "x.jsonl"
    export.write_text("{}\n", encoding="utf-8")
    result = CliRunner().invoke(
        warehouse_cli(),
        ["import", connection or existing.id, stream, str(export), "--home", str(home)],
    )
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_records_of_another_seller_are_quarantined_not_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A finances export of seller A3SELLER imported into another seller's Amazon connection:
    the transactions that name A3SELLER are refused with the reason, the rest land."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    home = tmp_path / "home"
    runtime = Runtime(Settings.from_env(home))
    try:
        make_scope(runtime.engine, "amazon", tenant="Import Lender", account="A1NOTTHEIRS")
        (connection,) = control.list_connections(runtime.engine)
    finally:
        runtime.close()
    fixture = Path(__file__).parents[1] / "normalizer/fixtures/amazon/transactions_page.json"
    page = json.loads(fixture.read_text(encoding="utf-8"))
    transactions = page["payload"]["transactions"]
    foreign = [t for t in transactions if t.get("sellingPartnerMetadata")]
    assert foreign and all(
        t["sellingPartnerMetadata"]["sellingPartnerId"] == "A3SELLER" for t in foreign
    )
    export = tmp_path / "transactions.jsonl"
    export.write_text("".join(json.dumps(t) + "\n" for t in transactions), encoding="utf-8")

    args = ["import", connection.id, "transactions", str(export), "--home", str(home)]
    result = CliRunner().invoke(warehouse_cli(), [*args, "--workers", "1"])

    assert result.exit_code == 0, result.output
    runtime = Runtime(Settings.from_env(home))
    try:
        with Session(runtime.engine) as session:
            run = session.execute(select(SyncRun).where(SyncRun.trigger == "import")).scalar_one()
            reasons = [
                q.reason
                for q in session.execute(
                    select(QuarantinedRecord).where(
                        QuarantinedRecord.connection_id == connection.id
                    )
                ).scalars()
            ]
    finally:
        runtime.close()
    assert (run.records, run.quarantined) == (len(transactions) - len(foreign), len(foreign))
    assert len(reasons) == len(foreign)
    assert all("belongs to account 'A3SELLER'" in reason for reason in reasons)
