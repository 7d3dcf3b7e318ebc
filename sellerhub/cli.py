"""The `sellerhub` command: demo, serve, sync, status, normalize."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlmodel import Session

from sellerhub import control
from sellerhub.settings import Settings

app = typer.Typer(
    help="sellerhub: seller-data hub for lenders (connect, sync, normalize, warehouse).",
    no_args_is_help=True,
    add_completion=False,
)
# wide enough for the per-seller tables when output is not a terminal (CI logs, pipes)
console = Console(width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="data home (default: $SELLERHUB_HOME or ./.sellerhub)"),
]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="log at DEBUG level")]


def _add_row(table: Table, *cells: str) -> None:
    """Cells are data (names, ids, platform error messages): shown as is, never as Rich markup
    (an error like ``created[gte]`` or ``[/]`` would be eaten or crash the table)."""
    table.add_row(*(Text(cell) for cell in cells))


def _stderr_line(message: str) -> None:
    """One plain line on stderr: no markup (paths and messages may hold brackets), no wrapping."""
    sys.stderr.write(" ".join(message.splitlines()) + "\n")
    sys.stderr.flush()


def _logging(verbose: bool) -> None:
    from vault.redact import install

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install()


def _runtime(home: Path | None):  # type: ignore[no-untyped-def]
    from sellerhub.runtime import Runtime
    from vault.redact import install

    runtime = Runtime(Settings.from_env(home))
    # the runtime's redactor knows the exact secrets it has handled (client secrets, tokens),
    # not only token-shaped strings
    install(runtime.redactor)
    return runtime


def _money(totals: dict[str, Decimal], currency: str | None) -> str:
    if not totals:
        return "0"
    if currency and currency in totals and len(totals) == 1:
        return f"{totals[currency]:,} {currency}"
    return ", ".join(f"{amount:,} {code}" for code, amount in sorted(totals.items()))


def _seller_tables(runtime) -> list[Table]:  # type: ignore[no-untyped-def]
    from warehouse.queries import summarize

    tables = []
    for seller in control.list_sellers(runtime.engine):
        table = Table(title=Text(f"{seller.name} ({seller.reference})"), title_justify="left")
        for column in (
            "platform",
            "account",
            "orders",
            "lines",
            "refunds",
            "txns",
            "payouts",
            "disputes",
            "quarant.",
            "gross sales",
            "refunded",
            "paid out",
            "sync",
        ):
            left = column in ("platform", "account", "sync")
            table.add_column(column, justify="left" if left else "right")
        for connection in control.list_connections(runtime.engine, seller_id=seller.id):
            s = summarize(runtime.engine, connection)
            _add_row(
                table,
                connection.platform,
                connection.platform_account_id,
                str(s.counts["orders"]),
                str(s.counts["order_lines"]),
                str(s.counts["refunds"]),
                str(s.counts["transactions"]),
                str(s.counts["payouts"]),
                str(s.counts["disputes"]),
                str(s.quarantined),
                _money(s.gross_sales, s.currency),
                _money(s.refunds, s.currency),
                _money(s.payouts, s.currency),
                s.health if not s.last_error else f"{s.health}: {s.last_error}",
            )
        tables.append(table)
    return tables


def _progress_printer(progress: Progress, labels: dict[str, str]):  # type: ignore[no-untyped-def]
    tasks: dict[tuple[str, str], TaskID] = {}

    def on_page(connection_id: str, stream: str, records: int) -> None:
        key = (connection_id, stream)
        if key not in tasks:
            tasks[key] = progress.add_task(
                f"{labels.get(connection_id, connection_id)} {stream}", total=None
            )
        progress.update(tasks[key], advance=records)

    return on_page


def _labels(runtime) -> dict[str, str]:  # type: ignore[no-untyped-def]
    sellers = {s.id: s.reference for s in control.list_sellers(runtime.engine)}
    return {
        c.id: f"{sellers.get(c.seller_id, c.seller_id)}/{c.platform}"
        for c in control.list_connections(runtime.engine)
    }


@app.command()
def demo(
    home: HomeOption = None,
    sellers: Annotated[int, typer.Option(min=1, max=3, help="how many sellers")] = 3,
    verbose: VerboseOption = False,
) -> None:
    """Start the emulators, connect 3 sellers by OAuth, backfill, sync again, report."""
    _logging(verbose)
    from api.app import create_app
    from sellerhub.demo import run_demo
    from sellerhub.serving import serve_in_thread

    started = time.monotonic()
    runtime = _runtime(home)
    api = None
    try:
        console.print(f"[bold]sellerhub demo[/] (data home {runtime.settings.home})")
        runtime.sandbox()
        api = serve_in_thread(create_app(runtime))
        runtime.api_base_url = api.base_url
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed} records"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            labels: dict[str, str] = {}

            def on_page(connection_id: str, stream: str, records: int) -> None:
                if not labels:
                    labels.update(_labels(runtime))
                printer(connection_id, stream, records)

            printer = _progress_printer(progress, labels)
            result = asyncio.run(run_demo(runtime, sellers=sellers, on_page=on_page))
        for table in _seller_tables(runtime):
            console.print(table)
        for label, report in (("backfill", result.backfill), ("incremental", result.incremental)):
            records = sum(r.records for r in report.results)
            inserted = sum(r.rows_inserted for r in report.results)
            updated = sum(r.rows_updated for r in report.results)
            console.print(
                f"{label}: {len(report.results)} stream runs, {records} records read, "
                f"{inserted} rows inserted, {updated} updated, {len(report.failed)} failed"
            )
        console.print(f"done in {time.monotonic() - started:.1f}s")
        if not (result.backfill.ok and result.incremental.ok):
            for failure in result.backfill.failed + result.incremental.failed:
                errors.print(
                    Text(f"{failure.connection_id} {failure.stream}: {failure.error}", style="red")
                )
            for connection_id, message in {
                **result.backfill.errors,
                **result.incremental.errors,
            }.items():
                errors.print(Text(f"{connection_id}: {message}", style="red"))
            raise typer.Exit(1)
    finally:
        if api is not None:
            api.stop()
        runtime.close()


@app.command()
def sync(
    home: HomeOption = None,
    connection: Annotated[str | None, typer.Option(help="only this connection id")] = None,
    stream: Annotated[list[str] | None, typer.Option(help="only these streams")] = None,
    verbose: VerboseOption = False,
) -> None:
    """Sync every active connection now (or one), page by page."""
    _logging(verbose)
    from sellerhub.syncing import sync_connections

    runtime = _runtime(home)
    try:
        connections = control.list_connections(runtime.engine, statuses=["active"])
        if connection:
            connections = [c for c in connections if c.id == connection]
            if not connections:
                _stderr_line(f"error: no active connection {connection}")
                raise typer.Exit(2)
        if not connections:
            console.print("no active connections; run `sellerhub demo` or connect a seller")
            return
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed} records"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            printer = _progress_printer(progress, _labels(runtime))
            report = asyncio.run(
                sync_connections(runtime, connections, streams=stream, on_page=printer)
            )
        table = Table(title="sync runs")
        for column in (
            "connection",
            "stream",
            "status",
            "pages",
            "records",
            "inserted",
            "updated",
            "quarantined",
            "error",
        ):
            table.add_column(column)
        for r in report.results:
            _add_row(
                table,
                r.connection_id,
                r.stream,
                r.status,
                str(r.pages),
                str(r.records),
                str(r.rows_inserted),
                str(r.rows_updated),
                str(r.quarantined),
                r.error or "",
            )
        console.print(table)
        for connection_id, message in report.errors.items():
            errors.print(Text(f"{connection_id}: {message}", style="red"))
        if not report.ok:
            raise typer.Exit(1)
    finally:
        runtime.close()


@app.command()
def status(home: HomeOption = None, verbose: VerboseOption = False) -> None:
    """Per-connection health: fresh, stale, failing, reauth_required; last error."""
    _logging(verbose)
    from warehouse.queries import summarize

    runtime = _runtime(home)
    try:
        connections = control.list_connections(runtime.engine)
        if not connections:
            console.print("no connections yet; run `sellerhub demo` or connect a seller")
            return
        sellers = {s.id: s for s in control.list_sellers(runtime.engine)}
        table = Table(title="connections")
        for column in (
            "seller",
            "platform",
            "account",
            "connection",
            "health",
            "last success",
            "orders",
            "transactions",
            "quarantined",
            "reason",
        ):
            table.add_column(column)
        reminders: list[str] = []
        for connection in connections:
            s = summarize(runtime.engine, connection)
            seller = sellers.get(connection.seller_id)
            _add_row(
                table,
                seller.reference if seller else connection.seller_id,
                connection.platform,
                connection.platform_account_id,
                connection.id,
                s.health,
                s.last_success.strftime("%Y-%m-%d %H:%M:%SZ") if s.last_success else "-",
                str(s.counts["orders"]),
                str(s.counts["transactions"]),
                str(s.quarantined),
                s.last_error or "",
            )
            if s.mapping_reminder:
                reminders.append(f"{connection.id}: {s.mapping_reminder}")
        console.print(table)
        for line in reminders:
            console.print(line, highlight=False, markup=False)
    finally:
        runtime.close()


@app.command()
def serve(
    home: HomeOption = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    public_url: Annotated[
        str | None,
        typer.Option(
            envvar="SELLERHUB_PUBLIC_URL",
            help="the URL sellers' browsers reach us at (OAuth redirect URIs, connect links)",
        ),
    ] = None,
    verbose: VerboseOption = False,
) -> None:
    """Serve the API and run the scheduler (each connection synced on its interval)."""
    _logging(verbose)
    import uvicorn

    from sellerhub.service import build_service

    runtime = _runtime(home)
    runtime.api_base_url = (public_url or f"http://{host}:{port}").rstrip("/")
    try:
        uvicorn.run(build_service(runtime), host=host, port=port, log_level="info")
    finally:
        runtime.close()


@app.command()
def normalize(
    platform: Annotated[str, typer.Argument(help="amazon or stripe")],
    stream: Annotated[str, typer.Argument(help="a stream the connector declares")],
    file: Annotated[Path, typer.Argument(help="raw API response page (JSON) or records (JSONL)")],
    buyer_key: Annotated[
        str, typer.Option(envvar="SELLERHUB_BUYER_HASH_KEY", help="key for buyer hashes")
    ] = "sellerhub-normalize",
) -> None:
    """Map one raw page or JSONL file to canonical records (JSON lines), no database."""
    from normalizer.context import MappingContext
    from normalizer.errors import MappingError
    from normalizer.records import canonical_to_json, iter_raw_records
    from normalizer.registry import UnknownPlatform, UnknownStream, get_mapping

    try:
        mapping = get_mapping(platform, stream)
    except (UnknownPlatform, UnknownStream) as error:
        _stderr_line(f"error: {error}")
        raise typer.Exit(2) from None
    if not file.is_file():
        _stderr_line(f"error: {file}: no such file")
        raise typer.Exit(2)
    context = MappingContext(platform=platform, buyer_hash_key=buyer_key.encode())
    quarantined = 0
    try:
        records = list(iter_raw_records(platform, stream, file))
    except (OSError, ValueError, MappingError) as error:
        _stderr_line(f"error: {file}: {error}")
        raise typer.Exit(2) from None
    out = sys.stdout
    for index, raw in enumerate(records, start=1):
        try:
            canonical = mapping(raw, context)
        except MappingError as error:
            quarantined += 1
            _stderr_line(f"record {index}: quarantined: {error}")
            continue
        for record in canonical:
            out.write(json.dumps(canonical_to_json(record), ensure_ascii=False) + "\n")
    if quarantined:
        _stderr_line(f"{quarantined} of {len(records)} records quarantined")


from sellerhub import cli_connect, cli_warehouse  # noqa: E402  (sub-command groups after the app)
from sellerhub.cli_vault import vault_app  # noqa: E402

app.add_typer(vault_app, name="vault")
app.add_typer(cli_warehouse.app)  # import, renormalize, rebuild-sqlite, metrics rebuild|refresh
app.add_typer(cli_connect.app)  # seller create|link, app set, retention, disconnect, purge

tenant_app = typer.Typer(help="Tenants (lenders) and their API keys.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")

ScopeOption = Annotated[
    list[str] | None, typer.Option("--scope", help="read, connect or admin (repeatable)")
]


@tenant_app.command("create")
def tenant_create(
    name: Annotated[str, typer.Argument(help="the lender's name")],
    home: HomeOption = None,
    reporting_currency: Annotated[str, typer.Option(help="ISO 4217 code")] = "USD",
    scope: ScopeOption = None,
) -> None:
    """Create a tenant (or find it by name) and issue an API key, shown once."""
    from sellerhub.apikeys import issue_key

    runtime = _runtime(home)
    try:
        tenant = control.ensure_tenant(runtime.engine, name, reporting_currency.upper())
        issued = issue_key(runtime.engine, tenant.id, frozenset(scope or ["read", "connect"]))
        console.print(f"tenant {tenant.id} ({tenant.name})")
        console.print(f"API key (shown once): {issued.plaintext}", soft_wrap=True)
    except ValueError as error:
        errors.print(f"error: {error}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        runtime.close()


@tenant_app.command("key")
def tenant_key(
    tenant_id: Annotated[str, typer.Argument(help="tenant id")],
    home: HomeOption = None,
    scope: ScopeOption = None,
) -> None:
    """Issue another API key for a tenant, shown once."""
    from sellerhub.apikeys import issue_key
    from warehouse.tables import Tenant

    runtime = _runtime(home)
    try:
        with Session(runtime.engine) as session:
            if session.get(Tenant, tenant_id) is None:
                errors.print(f"error: no tenant {tenant_id}", highlight=False)
                raise typer.Exit(2)
        issued = issue_key(runtime.engine, tenant_id, frozenset(scope or ["read"]))
        console.print(f"API key (shown once): {issued.plaintext}", soft_wrap=True)
    except ValueError as error:
        errors.print(f"error: {error}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        runtime.close()


def main() -> None:
    from sellerhub.memory import freeze_startup_objects

    freeze_startup_objects()
    app()


if __name__ == "__main__":
    main()
