"""``sellerhub status`` and ``sellerhub sync`` against a data home (SELLERHUB_HOME)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import Session

from sellerhub import control
from sellerhub.runtime import Runtime
from sellerhub.settings import Settings
from warehouse.tables import SyncRun, utcnow

from .conftest import Invoke


def home_env(home: Path) -> dict[str, str | None]:
    return {"SELLERHUB_HOME": str(home)}


def test_status_on_an_empty_home(sellerhub: Invoke, tmp_path: Path) -> None:
    home = tmp_path / "empty-home"

    outcome = sellerhub("status", env=home_env(home))

    assert outcome.code == 0, outcome.stderr
    assert "no connections yet" in outcome.stdout
    assert outcome.stderr == ""
    assert (home / "warehouse.db").exists()  # the home was created where we said


def test_sync_on_an_empty_home(sellerhub: Invoke, tmp_path: Path) -> None:
    outcome = sellerhub("sync", env=home_env(tmp_path / "empty-home"))

    assert outcome.code == 0, outcome.stderr
    assert "no active connections" in outcome.stdout
    assert outcome.stderr == ""


def test_sync_of_an_unknown_connection_is_a_usage_error(
    sellerhub_in_process: Invoke, tmp_path: Path
) -> None:
    outcome = sellerhub_in_process(
        "sync", "--connection", "con_nope", env=home_env(tmp_path / "home")
    )

    assert outcome.code == 2
    assert outcome.stderr_lines == ["error: no active connection con_nope"]


def test_status_shows_errors_as_written(sellerhub_in_process: Invoke, tmp_path: Path) -> None:
    """Platform messages hold brackets (``created[gte]``, ``[/]``); they are data, not markup."""
    home = tmp_path / "home"
    runtime = Runtime(
        Settings(home=home.resolve(), database_url=f"sqlite:///{home / 'warehouse.db'}")
    )
    try:
        tenant = control.ensure_tenant(runtime.engine, "Lender")
        seller = control.ensure_seller(runtime.engine, tenant.id, "[b]seller-1[/b]", "Shop")
        connection = control.upsert_connection(
            runtime.engine,
            tenant_id=tenant.id,
            seller_id=seller.id,
            platform="stripe",
            environment="sandbox",
            region="",
            platform_account_id="acct_[red]1",
            scopes="read_only",
        )
        error = "Stripe charges: HTTP 400 (created[gte] must be an integer [/])"
        with Session(runtime.engine) as session:
            session.add(
                SyncRun(
                    connection_id=connection.id,
                    stream="charges",
                    status="failed",
                    finished_at=utcnow() - timedelta(minutes=1),
                    error=error,
                )
            )
            session.commit()
    finally:
        runtime.close()

    outcome = sellerhub_in_process("status", env={**home_env(home), "COLUMNS": "400"})

    assert outcome.code == 0, outcome.stderr
    assert "failing" in outcome.stdout
    flat = " ".join(outcome.stdout.split())
    for shown in ("[b]seller-1[/b]", "acct_[red]1", connection.id):
        assert shown in flat
    # the table may wrap a long cell; the brackets must survive
    assert "created[gte]" in flat and "[/]" in flat
