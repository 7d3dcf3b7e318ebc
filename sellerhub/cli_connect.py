"""CLI of the seller connect flow: sellers and connect links, tenant apps, disconnect,
retention and purge. Registered in ``sellerhub/cli.py`` with ``app.add_typer(cli_connect.app)``.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlmodel import Session

from sellerhub.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False)
seller_app = typer.Typer(help="Sellers and their connect links.", no_args_is_help=True)
app_app = typer.Typer(help="A tenant's app at a platform (OAuth client).", no_args_is_help=True)
retention_app = typer.Typer(
    help="What happens to synced data after a disconnect.", no_args_is_help=True
)
app.add_typer(seller_app, name="seller")
app.add_typer(app_app, name="app")
app.add_typer(retention_app, name="retention")

console = Console(width=None if sys.stdout.isatty() else 160)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="data home (default: $SELLERHUB_HOME or ./.sellerhub)"),
]
TenantOption = Annotated[str, typer.Option("--tenant", help="tenant id")]
BaseUrlOption = Annotated[
    str,
    typer.Option(
        "--base-url",
        envvar="SELLERHUB_PUBLIC_URL",
        help="the API's public URL (where sellers open links and platforms call back)",
    ),
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    sys.stderr.write(" ".join(message.splitlines()) + "\n")
    return typer.Exit(code)


def _runtime(home: Path | None, tenant_id: str | None = None):  # type: ignore[no-untyped-def]
    from sellerhub.runtime import Runtime
    from warehouse.tables import Tenant

    runtime = Runtime(Settings.from_env(home))
    if tenant_id is not None:
        with Session(runtime.engine) as session:
            if session.get(Tenant, tenant_id) is None:
                runtime.close()
                raise _fail(f"error: no tenant {tenant_id}")
    return runtime


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@seller_app.command("create")
def seller_create(
    reference: Annotated[str, typer.Argument(help="your own id for the seller")],
    name: Annotated[str, typer.Argument(help="the seller's business name")],
    tenant: TenantOption,
    home: HomeOption = None,
) -> None:
    """Create a seller of a tenant."""
    from sellerhub import connect

    runtime = _runtime(home, tenant)
    try:
        seller = connect.create_seller(runtime.engine, tenant, reference, name)
        console.print(Text(f"seller {seller.id} ({seller.reference}, {seller.name})"))
    except connect.Conflict as conflict:
        raise _fail(f"error: {conflict}") from None
    finally:
        runtime.close()


@seller_app.command("link")
def seller_link(
    seller_id: Annotated[str, typer.Argument(help="seller id")],
    tenant: TenantOption,
    base_url: BaseUrlOption = "http://127.0.0.1:8000",
    hours: Annotated[int, typer.Option(min=1, max=720, help="link lifetime in hours")] = 168,
    platform: Annotated[
        list[str] | None, typer.Option("--platform", help="offer only these platforms")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Print a signed, expiring connect link for a seller."""
    from sellerhub import connect

    runtime = _runtime(home, tenant)
    runtime.api_base_url = base_url.rstrip("/")
    try:
        issued = connect.issue_link(
            runtime,
            tenant,
            seller_id,
            lifetime=timedelta(hours=hours),
            platforms=tuple(platform or ()),
        )
    except connect.NotFound:
        raise _fail(f"error: tenant {tenant} has no seller {seller_id}") from None
    except ValueError as error:
        raise _fail(f"error: {error}") from None
    finally:
        runtime.close()
    console.print(issued.url, soft_wrap=True, highlight=False)
    console.print(f"expires {issued.claims.expires_at.isoformat()}", highlight=False)


@app_app.command("set")
def app_set(
    platform: Annotated[str, typer.Argument(help="amazon, stripe, ...")],
    tenant: TenantOption,
    client_id: Annotated[
        str | None, typer.Option(help="the app's OAuth client id (LWA client id for Amazon)")
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(
            envvar="SELLERHUB_CLIENT_SECRET",
            help="the app's client secret (prompted, hidden, when not given)",
        ),
    ] = None,
    environment: Annotated[str, typer.Option(help="production or sandbox")] = "production",
    draft_app: Annotated[bool, typer.Option(help="Amazon: the app is still a draft")] = False,
    app_id: Annotated[str | None, typer.Option(help="Amazon: the SP-API application id")] = None,
    sandbox_credentials: Annotated[
        bool, typer.Option(help="generate credentials the sandbox emulators accept")
    ] = False,
    home: HomeOption = None,
) -> None:
    """Register (or replace) a tenant's app at a platform; the secret goes to the vault."""
    from sellerhub import connect
    from sellerhub.runtime import AppCredentials, sandbox_app_credentials

    if sandbox_credentials:
        try:
            credentials = sandbox_app_credentials(platform)
        except ValueError as error:
            raise _fail(f"error: {error}") from None
        environment = "sandbox"
    else:
        if not client_id:
            raise _fail("error: --client-id is required (or --sandbox-credentials)")
        secret = client_secret or typer.prompt("client secret", hide_input=True)
        credentials = AppCredentials(client_id, secret)
    runtime = _runtime(home, tenant)
    try:
        registered = connect.register_app(
            runtime,
            tenant,
            platform,
            credentials,
            environment=environment,
            draft_app=draft_app,
            app_id=app_id,
        )
    except (connect.NotFound, ValueError) as error:
        raise _fail(f"error: {error}") from None
    finally:
        runtime.close()
    console.print(
        Text(
            f"{registered.platform} app {registered.client_id} ({registered.environment}"
            f"{', draft' if registered.draft_app else ''}) registered for {tenant}"
        )
    )


@app.command("disconnect")
def disconnect_command(
    connection_id: Annotated[str, typer.Argument(help="connection id")],
    tenant: TenantOption,
    home: HomeOption = None,
) -> None:
    """Withdraw a connection: revoke at the platform, destroy the tokens, stop the syncs."""
    from sellerhub import connect, withdrawal
    from sellerhub.consent_log import Actor

    runtime = _runtime(home, tenant)
    try:
        outcome = asyncio.run(
            withdrawal.disconnect(runtime, tenant, connection_id, Actor("operator", _operator()))
        )
    except connect.NotFound:
        raise _fail(f"error: tenant {tenant} has no connection {connection_id}") from None
    finally:
        runtime.close()
    if outcome.already:
        console.print(Text(f"{connection_id} was already disconnected"))
        return
    detail = f" ({outcome.revocation_detail})" if outcome.revocation_detail else ""
    console.print(
        Text(
            f"{connection_id} disconnected; tokens destroyed: {outcome.tokens_destroyed}; "
            f"revocation at {outcome.platform}: {outcome.revocation}{detail}"
        )
    )


@app.command("purge")
def purge_command(
    tenant: Annotated[str | None, typer.Option("--tenant", help="only this tenant")] = None,
    connection: Annotated[str | None, typer.Option(help="only this connection")] = None,
    dry_run: Annotated[bool, typer.Option(help="report what is due, delete nothing")] = False,
    home: HomeOption = None,
) -> None:
    """Delete the synced data of disconnected connections whose retention period is over."""
    from sellerhub import withdrawal

    runtime = _runtime(home, tenant)
    try:
        outcomes = withdrawal.purge(
            runtime.engine, tenant_id=tenant, connection_id=connection, dry_run=dry_run
        )
    finally:
        runtime.close()
    if not outcomes:
        console.print("no disconnected connection holds synced data")
        return
    table = Table(title="purge" + (" (dry run)" if dry_run else ""))
    for column in ("connection", "tenant", "disconnected", "due", "purged", "rows deleted"):
        table.add_column(column)
    for o in outcomes:
        table.add_row(
            *(
                Text(cell)
                for cell in (
                    o.connection_id,
                    o.tenant_id,
                    o.disconnected_at.strftime("%Y-%m-%d %H:%M"),
                    o.due_at.strftime("%Y-%m-%d %H:%M") if o.due_at else "never (keep)",
                    "yes" if o.purged else "no",
                    str(sum(o.deleted.values())),
                )
            )
        )
    console.print(table)


@retention_app.command("set")
def retention_set(
    tenant: TenantOption,
    keep: Annotated[bool, typer.Option("--keep", help="keep synced data")] = False,
    delete_after_days: Annotated[
        int | None, typer.Option(min=0, help="delete synced data N days after a disconnect")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Set a tenant's retention policy: --keep, or --delete-after-days N."""
    from sellerhub import withdrawal

    if keep == (delete_after_days is not None):
        raise _fail("error: give exactly one of --keep or --delete-after-days N")
    runtime = _runtime(home, tenant)
    try:
        policy = withdrawal.set_policy(
            runtime.engine, tenant, "keep" if keep else "delete", delete_after_days
        )
    finally:
        runtime.close()
    console.print(_policy_text(policy))


@retention_app.command("show")
def retention_show(tenant: TenantOption, home: HomeOption = None) -> None:
    """Show a tenant's retention policy."""
    from sellerhub import withdrawal

    runtime = _runtime(home, tenant)
    try:
        console.print(_policy_text(withdrawal.get_policy(runtime.engine, tenant)))
    finally:
        runtime.close()


def _policy_text(policy: object) -> str:
    mode = getattr(policy, "mode", "keep")
    days = getattr(policy, "delete_after_days", None)
    if mode == "delete":
        return f"retention: delete synced data {days} days after a disconnect"
    return "retention: keep synced data after a disconnect"
