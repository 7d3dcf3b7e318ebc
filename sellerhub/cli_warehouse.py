"""Warehouse commands: ``sellerhub renormalize``, ``sellerhub import``,
``sellerhub metrics rebuild|refresh`` and ``sellerhub rebuild-sqlite``.

Registered in ``sellerhub/cli.py`` with ``app.add_typer(cli_warehouse.app)`` (no name: the
commands join the top level).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from sellerhub.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False)
metrics_app = typer.Typer(help="Daily seller metrics.", no_args_is_help=True)
app.add_typer(metrics_app, name="metrics")

console = Console(width=None if sys.stdout.isatty() else 160)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="data home (default: $SELLERHUB_HOME or ./.sellerhub)"),
]
TenantOption = Annotated[str | None, typer.Option("--tenant", help="only this tenant id")]


def _runtime(home: Path | None):  # type: ignore[no-untyped-def]
    from sellerhub.runtime import Runtime

    return Runtime(Settings.from_env(home))


@app.command("import")
def import_records(
    connection_id: Annotated[str, typer.Argument(help="the connection the records belong to")],
    stream: Annotated[str, typer.Argument(help="a stream its connector declares")],
    file: Annotated[Path, typer.Argument(help="JSON lines: one raw platform record per line")],
    home: HomeOption = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="processes that parse and map (default: cores - 1)")
    ] = None,
    page_size: Annotated[int, typer.Option(min=1, max=100_000, help="records per commit")] = 1000,
) -> None:
    """Load raw records exported from a platform (or kept elsewhere) into a connection.

    Each record is mapped, redacted and written as a sync writes it: raw rows kept, canonical
    rows upserted with versions, unreadable records quarantined with their reason. The stream's
    sync cursor is not moved; daily metrics are refreshed after.
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from sqlmodel import Session

    from connectors.registry import UnknownPlatform, get_connector
    from sellerhub.bulk_import import RawPage, import_pages, pages_of_lines
    from warehouse import metrics
    from warehouse.tables import Connection, SyncRun, utcnow
    from warehouse.writer import ConnectionScope, PageOutcome

    if not file.is_file():
        _stderr(f"error: {file}: no such file")
    runtime = _runtime(home)
    try:
        with Session(runtime.engine, expire_on_commit=False) as session:
            connection = session.get(Connection, connection_id)
            if connection is None:
                _stderr(f"error: no connection {connection_id!r} (see `sellerhub status`)")
            try:
                declared = {s.name: s for s in get_connector(connection.platform).streams}
            except UnknownPlatform:
                _stderr(f"error: no connector for platform {connection.platform!r}")
            if stream not in declared:
                _stderr(
                    f"error: {connection.platform} has no stream {stream!r} "
                    f"(streams: {', '.join(sorted(declared))})"
                )
            run = SyncRun(connection_id=connection.id, stream=stream, trigger="import")
            session.add(run)
            session.commit()
            assert run.id is not None
            run_id = run.id
        scope = ConnectionScope(
            connection.tenant_id, connection.seller_id, connection.id, connection.platform
        )
        context = runtime.mapping_context(connection)
        primary_key = declared[stream].primary_key

        def page(lines: list[bytes], first: int) -> RawPage:
            return RawPage(scope, stream, primary_key, run_id, context, lines, first)

        status, error = "failed", None
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
        ) as bar:
            task = bar.add_task(f"importing {file.name}", total=None)

            def written(raw: RawPage, outcome: PageOutcome) -> None:
                bar.update(
                    task, description=f"{file.name}: line {raw.first_line + len(raw.lines) - 1}"
                )

            try:
                with file.open("rb") as lines:
                    totals = import_pages(
                        runtime.engine,
                        pages_of_lines(lines, page_size, page),
                        workers=workers,
                        on_page=written,
                    )
                status = "succeeded"
            except Exception as failure:  # the run records why; pages before it stay committed
                error = f"{type(failure).__name__}: {failure}"
            finally:
                with Session(runtime.engine) as session:
                    finished = session.get(SyncRun, run_id)
                    assert finished is not None
                    finished.status, finished.error = status, error
                    finished.finished_at = utcnow()
                    session.add(finished)
                    session.commit()
        if error is not None:
            print(f"error: import stopped (run {run_id}): {error}", file=sys.stderr)
            raise typer.Exit(1)
        metrics.refresh(runtime.engine, tenant_id=connection.tenant_id)
    finally:
        runtime.close()
    table = Table("records", "quarantined", "new rows", "new versions", "unchanged")
    table.add_row(
        str(totals.records),
        str(totals.quarantined),
        str(totals.rows_inserted),
        str(totals.rows_updated),
        str(totals.rows_unchanged),
    )
    console.print(table)


def _stderr(message: str) -> NoReturn:
    """One line on stderr and exit status 2 (a usage error)."""
    print(message, file=sys.stderr)
    raise typer.Exit(2)


@app.command()
def renormalize(
    home: HomeOption = None,
    tenant: TenantOption = None,
    platform: Annotated[str | None, typer.Option(help="only this platform")] = None,
    stream: Annotated[str | None, typer.Option(help="only this stream")] = None,
) -> None:
    """Rebuild canonical rows from the stored raw records with the current mappings.

    Only rows whose content changes get a new version. Quarantined records the current
    mappings accept are written and leave the quarantine. Daily metrics are refreshed after.
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from warehouse import metrics
    from warehouse.renormalize import renormalize as run

    runtime = _runtime(home)
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console) as bar:
            task = bar.add_task("renormalizing", total=None)

            def seen(connection_id: str, stream_name: str, done: int) -> None:
                bar.update(task, description=f"{connection_id} {stream_name}: {done} raw records")

            report = run(
                runtime.engine,
                tenant_id=tenant,
                platform=platform,
                stream=stream,
                progress=seen,
                contexts=runtime.mapping_context,
            )
        refreshed = metrics.refresh(runtime.engine, tenant_id=tenant)
    finally:
        runtime.close()
    table = Table("raw records", "new rows", "new versions", "unchanged", "failed")
    table.add_row(
        str(report.raw_records),
        str(report.rows_inserted),
        str(report.rows_updated),
        str(report.rows_unchanged),
        str(len(report.failures)),
    )
    console.print(table)
    console.print(
        f"quarantine: {report.quarantine_released} released, "
        f"{report.quarantine_superseded} superseded by a later fetch, "
        f"{report.quarantine_kept} still refused",
        highlight=False,
    )
    for entity, count in sorted(report.changed_by_entity.items()):
        console.print(f"{entity}: {count} rows changed", highlight=False)
    for failure in report.failures[:20]:
        console.print(
            f"failed {failure.connection_id}/{failure.stream} {failure.external_id}: "
            f"{failure.reason}",
            highlight=False,
            markup=False,
        )
    console.print(f"daily metrics: {refreshed.buckets} buckets recomputed", highlight=False)


@app.command("rebuild-sqlite")
def rebuild_sqlite(home: HomeOption = None) -> None:
    """Rewrite an older SQLite warehouse file with 64 KiB pages (faster loads).

    Files created before sellerhub used 64 KiB pages keep their 4 KiB pages until rebuilt.
    The whole file is rewritten in one transaction; stop syncs and `sellerhub serve` first.
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from warehouse.engine import sqlite_path
    from warehouse.sqlite_file import RebuildRefused, rebuild_with_page_size

    settings = Settings.from_env(home)
    path = sqlite_path(settings.database_url)
    if path is None:
        _stderr("the warehouse is not a SQLite file (DATABASE_URL): nothing to rebuild")
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console, transient=True) as bar:
            bar.add_task(f"rewriting {path}", total=None)
            result = rebuild_with_page_size(path)
    except RebuildRefused as refused:
        print(str(refused), file=sys.stderr)
        raise typer.Exit(1) from None
    if not result.rebuilt:
        console.print(
            f"{path} already has {result.page_size_after // 1024} KiB pages: nothing to do",
            highlight=False,
        )
        return
    console.print(
        f"{path}: {result.page_size_before // 1024} KiB → {result.page_size_after // 1024} KiB "
        f"pages, {result.bytes_before / 2**20:,.1f} → {result.bytes_after / 2**20:,.1f} MiB",
        highlight=False,
    )


@metrics_app.command("rebuild")
def metrics_rebuild(home: HomeOption = None, tenant: TenantOption = None) -> None:
    """Recompute every seller's daily metrics (and reporting-currency amounts) from scratch."""
    from warehouse import metrics

    runtime = _runtime(home)
    try:
        report = metrics.rebuild(runtime.engine, tenant_id=tenant)
    finally:
        runtime.close()
    console.print(
        f"{report.sellers} sellers, {report.buckets} seller-platform days, "
        f"{report.totals} seller totals, {report.fx_written} converted amounts written",
        highlight=False,
    )


@metrics_app.command("refresh")
def metrics_refresh(home: HomeOption = None, tenant: TenantOption = None) -> None:
    """Recompute only the days that changed since the last refresh."""
    from warehouse import metrics

    runtime = _runtime(home)
    try:
        report = metrics.refresh(runtime.engine, tenant_id=tenant)
    finally:
        runtime.close()
    console.print(
        f"{report.buckets} seller-platform days and {report.totals} seller totals recomputed",
        highlight=False,
    )
