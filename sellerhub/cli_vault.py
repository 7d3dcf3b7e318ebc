"""`sellerhub vault ...`: rotate the key that wraps the tokens' data keys, verify, retire keys.

Registered by ``sellerhub.cli`` as ``app.add_typer(vault_app, name="vault")``. Prints key ids,
row identities and counts only: never a token, a data key or a master key.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from sellerhub.settings import Settings
from vault.config import keyring_of, provider_from_env, provider_name
from vault.errors import KeyInUseError, KeyProviderConfigError, MasterKeyError, VaultError
from vault.keyring import Keyring
from vault.rotation import RowFailure, rotate, verify
from vault.store import Vault
from warehouse.engine import make_engine
from warehouse.migrate import upgrade

vault_app = typer.Typer(
    help="Token vault keys: rotate the master key, verify every secret, list and retire keys.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="data home (default: $SELLERHUB_HOME or ./.sellerhub)"),
]


@contextmanager
def _vault(home: Path | None) -> Iterator[tuple[Vault, Settings]]:
    """The vault of the configured warehouse and key provider; vault errors end the command."""
    settings = Settings.from_env(home)
    settings.ensure_home()
    try:
        engine = make_engine(settings.database_url)
    except Exception as exc:  # a bad DATABASE_URL: say which kind of error, not the URL
        errors.print(f"cannot open the warehouse: {type(exc).__name__}")
        raise typer.Exit(2) from None
    try:
        upgrade(engine)
        yield Vault(engine, provider_from_env(settings.home)), settings
    except (KeyProviderConfigError, MasterKeyError) as exc:
        errors.print(f"key configuration: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    except VaultError as exc:
        errors.print(f"vault: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


def _progress(description: str) -> Progress:
    return Progress(
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def _failures_table(title: str, failures: list[RowFailure]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("secret", "key id", "reason"):
        table.add_column(column, overflow="fold")
    for failure in failures:
        table.add_row(str(failure.ref), failure.key_id, failure.reason)
    return table


@vault_app.command("rotate")
def rotate_command(
    home: HomeOption = None,
    rewrap_only: Annotated[
        bool,
        typer.Option(
            "--rewrap-only",
            help="do not create a new local key: re-wrap under the current key (resume)",
        ),
    ] = False,
    only_stale: Annotated[
        bool,
        typer.Option("--only-stale", help="skip rows already wrapped under the current key"),
    ] = False,
) -> None:
    """Make a new master key current and re-wrap every data key under it (syncs may run).

    With SELLERHUB_KEY_PROVIDER=local a new local key is created and the previous one kept
    until `sellerhub vault retire-key`. With aws-kms or vault-transit the service's current key
    is used (rotate it there first); rows sealed by local keys move to the service.
    """
    with _vault(home) as (vault, _settings):
        keyring = keyring_of(vault.provider)
        if keyring is not None and not rewrap_only:
            new_id = keyring.rotate_key()
            console.print(f"new local key {new_id} is current; the previous key is kept")
        elif keyring is None:
            console.print(f"key provider {provider_name()}: re-wrapping under its current key")
        with _progress("re-wrapping") as bar:
            task = bar.add_task("rows", total=None)
            report = rotate(
                vault,
                vault.provider,
                only_stale=only_stale,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    console.print(
        f"target key {report.target_key_id}: {report.rewrapped} data key(s) re-wrapped, "
        f"{report.saved_meanwhile} saved meanwhile under the new key, {report.vanished} "
        f"deleted meanwhile, {report.passes} pass(es)"
    )
    for old, count in sorted(report.from_keys.items()):
        console.print(f"  from {old}: {count}")
    if report.failures:
        console.print(_failures_table("rows that did not open (left unchanged)", report.failures))
    if report.remaining:
        console.print(
            f"{report.remaining} row(s) are still under an older key (busy); run "
            f"'sellerhub vault rotate --rewrap-only --only-stale' again"
        )
    if not report.complete:
        raise typer.Exit(1)


@vault_app.command("verify")
def verify_command(home: HomeOption = None) -> None:
    """Decrypt every stored secret and list the ones that fail (exit 1 if any)."""
    with _vault(home) as (vault, _settings), _progress("verifying") as bar:
        task = bar.add_task("rows", total=None)
        report = verify(
            vault, progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
    for key_id, count in sorted(report.by_key.items()):
        console.print(f"  {key_id}: {count} row(s)")
    console.print(
        f"{report.rows} secret(s) checked: {report.opened} open, {len(report.failures)} failed"
    )
    if report.failures:
        console.print(_failures_table("secrets that do not open", report.failures))
        raise typer.Exit(1)


@vault_app.command("retire-key")
def retire_key_command(
    key_id: Annotated[str, typer.Argument(help="the retired local key id (local:<16 hex>)")],
    home: HomeOption = None,
) -> None:
    """Delete a retired local key; refused while it is current or any row still uses it.

    With SELLERHUB_KEY_PROVIDER=aws-kms or vault-transit, the home's master.key can be removed
    this way too once no row uses it.
    """
    with _vault(home) as (vault, settings):
        if not key_id.startswith("local:"):
            in_use = vault.key_usage().get(key_id, 0)
            errors.print(
                f"{key_id} is not a local key: retire it in its key service (disable the KMS "
                f"key, or raise the transit key's min_decryption_version). Rows using it: "
                f"{in_use}",
                markup=False,
                highlight=False,
            )
            raise typer.Exit(2)
        # with KMS or transit configured, the local master.key is just an old key too
        remote = keyring_of(vault.provider) is None
        try:
            paths = Keyring(settings.home).retire(key_id, vault, current_too=remote)
        except KeyInUseError as exc:
            errors.print(f"refused: {exc}", markup=False, highlight=False)
            raise typer.Exit(1) from None
    removed = ", ".join(str(p) for p in paths)
    console.print(f"key {key_id} removed ({removed})", markup=False, highlight=False)


@vault_app.command("keys")
def keys_command(home: HomeOption = None) -> None:
    """List the key ids: which is current, which are kept, and how many rows use each."""
    with _vault(home) as (vault, settings):
        usage = vault.key_usage()
        current = vault.provider.key_id
        local = {key.key_id: key for key in Keyring(settings.home).list_keys()}
    table = Table(title=f"keys (provider: {provider_name()})", title_justify="left")
    for column in ("key id", "rows", "status"):
        table.add_column(column, overflow="fold")
    ids = sorted(set(usage) | set(local) | {current}, key=lambda k: (k != current, k))
    for key_id in ids:
        if key_id == current:
            status = "current"
        elif key_id in local:
            status = "local master key, readable" if local[key_id].current else "retired, kept"
        elif key_id.startswith("local:"):
            status = "MISSING: these rows cannot open"
        else:
            status = "older key of the key service"
        table.add_row(key_id, str(usage.get(key_id, 0)), status)
    console.print(table)
