"""The connect flow's CLI (``sellerhub.cli_connect.app``): sellers and links, apps, retention,
disconnect and purge, on a data home of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner, Result

from sellerhub import connect, control
from sellerhub.cli_connect import app
from sellerhub.runtime import Runtime, sandbox_app_credentials
from sellerhub.settings import Settings
from warehouse.connect_tables import Disconnection


def run(home: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(
        app, [*args, "--home", str(home)], env={"DATABASE_URL": "", **(env or {})}
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def open_runtime(home: Path) -> Runtime:
    return Runtime(Settings(home=home, database_url=f"sqlite:///{home / 'warehouse.db'}"))


def test_lender_sets_up_apps_a_seller_and_a_link(home: Path) -> None:
    runtime = open_runtime(home)
    tenant = control.ensure_tenant(runtime.engine, "CLI Lender").id
    runtime.close()
    secret = "sk_test_cli_secret_value"

    stripe = run(
        home,
        "app",
        "set",
        "stripe",
        "--tenant",
        tenant,
        "--client-id",
        "ca_cli",
        "--environment",
        "sandbox",
        env={"SELLERHUB_CLIENT_SECRET": secret},
    )
    amazon = run(home, "app", "set", "amazon", "--tenant", tenant, "--sandbox-credentials")
    created = run(home, "seller", "create", "loan-7", "Kumo Tea", "--tenant", tenant)
    duplicate = run(home, "seller", "create", "loan-7", "Kumo Tea", "--tenant", tenant)

    assert stripe.exit_code == 0, stripe.output
    assert secret not in stripe.output
    assert amazon.exit_code == 0 and "sandbox" in amazon.output
    assert created.exit_code == 0
    assert duplicate.exit_code == 2
    seller_id = re.search(r"seller (sel_\w+)", created.output)
    assert seller_id is not None
    linked = run(
        home,
        "seller",
        "link",
        seller_id.group(1),
        "--tenant",
        tenant,
        "--base-url",
        "https://hub.example/",
        "--platform",
        "stripe",
    )
    assert linked.exit_code == 0, linked.output
    url = re.search(r"https://hub\.example/connect/(\S+)", linked.output)
    assert url is not None
    runtime = open_runtime(home)
    try:
        claims = connect.read_link(runtime, url.group(1))
        assert (claims.tenant_id, claims.seller_id, claims.platforms) == (
            tenant,
            seller_id.group(1),
            ("stripe",),
        )
        assert runtime.app_credentials(tenant, "stripe").client_secret == secret
    finally:
        runtime.close()
    assert run(home, "seller", "link", "sel_nobody", "--tenant", tenant).exit_code == 2
    assert run(home, "seller", "create", "x", "y", "--tenant", "ten_nobody").exit_code == 2


def test_disconnect_and_purge_follow_the_retention_policy(home: Path) -> None:
    runtime = open_runtime(home)
    tenant = control.ensure_tenant(runtime.engine, "CLI Lender").id
    runtime.register_app(tenant, "amazon", sandbox_app_credentials("amazon"))
    seller = control.ensure_seller(runtime.engine, tenant, "ref", "Seller")
    connection = control.upsert_connection(
        runtime.engine,
        tenant_id=tenant,
        seller_id=seller.id,
        platform="amazon",
        environment="production",
        region="na",
        platform_account_id="ACLI",
        scopes="",
    )
    runtime.close()

    assert run(home, "retention", "set", "--tenant", tenant).exit_code == 2  # neither option
    kept = run(home, "retention", "set", "--tenant", tenant, "--delete-after-days", "0")
    shown = run(home, "retention", "show", "--tenant", tenant)
    other = run(home, "disconnect", connection.id, "--tenant", "ten_other")
    done = run(home, "disconnect", connection.id, "--tenant", tenant)
    dry = run(home, "purge", "--dry-run")
    purged = run(home, "purge", "--tenant", tenant)

    assert kept.exit_code == 0 and "0 days" in shown.output
    assert other.exit_code == 2
    assert done.exit_code == 0, done.output
    assert "not_supported" in done.output and "tokens destroyed" in done.output
    assert dry.exit_code == 0 and "dry run" in dry.output
    assert purged.exit_code == 0 and "yes" in purged.output
    runtime = open_runtime(home)
    try:
        with Session(runtime.engine) as session:
            row = session.get(Disconnection, connection.id)
            assert row is not None and row.actor_type == "operator"
            assert row.purged_at is not None
    finally:
        runtime.close()
