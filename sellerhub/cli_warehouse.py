"""Warehouse commands: ``sellerhub renormalize`` and ``sellerhub metrics rebuild|refresh``.

Registered in ``sellerhub/cli.py`` with ``app.add_typer(cli_warehouse.app)`` (no name: the
commands join the top level).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

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


@app.command()
def renormalize(
    home: HomeOption = None,
    tenant: TenantOption = None,
    platform: Annotated[str | None, typer.Option(help="only this platform")] = None,
    stream: Annotated[str | None, typer.Option(help="only this stream")] = None,
) -> None:
    """Rebuild canonical rows from the stored raw records with the current mappings.

    Only rows whose content changes get a new version; daily metrics are refreshed after.
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
