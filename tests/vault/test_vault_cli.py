"""`sellerhub vault ...` commands on a temporary home (SQLite warehouse, local keyring)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from sellerhub.cli_vault import vault_app
from sellerhub.settings import Settings
from vault.config import provider_from_env
from vault.keyring import Keyring
from vault.store import Vault
from vault.table import vault_secrets_table
from vault.tokens import connection_token_ref
from warehouse.engine import make_engine
from warehouse.migrate import upgrade

ENV_TO_CLEAR = (
    "DATABASE_URL",
    "SELLERHUB_HOME",
    "SELLERHUB_KEY_PROVIDER",
    "SELLERHUB_MASTER_KEY",
    "SELLERHUB_KMS_KEY_ID",
    "SELLERHUB_TRANSIT_KEY",
)


@pytest.fixture
def cli_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def warehouse(cli_home: Path) -> Iterator[Vault]:
    """The vault exactly as the commands open it, with a few connections' tokens."""
    settings = Settings.from_env(cli_home)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    vault = Vault(engine, provider_from_env(settings.home, {}))
    yield vault
    engine.dispose()


@pytest.fixture
def tokens(warehouse: Vault) -> dict[str, dict[str, Any]]:
    saved = {
        f"conn-{i}": {
            "access_token": f"Atza|cli{secrets.token_urlsafe(16)}",
            "refresh_token": f"Atzr|cli{secrets.token_urlsafe(16)}",
        }
        for i in range(4)
    }
    for connection_id, token in saved.items():
        warehouse.put_json(connection_token_ref(connection_id), token)
    return saved


def run(home: Path, *args: str) -> Any:
    result = CliRunner().invoke(vault_app, [*args, "--home", str(home)])
    return result


def no_token_in(output: str, tokens: dict[str, dict[str, Any]]) -> bool:
    return not any(value in output for token in tokens.values() for value in token.values())


def test_keys_lists_the_current_key_and_its_rows(
    cli_home: Path, warehouse: Vault, tokens: dict[str, dict[str, Any]]
) -> None:
    result = run(cli_home, "keys")
    assert result.exit_code == 0, result.output
    current = warehouse.provider.key_id
    line = next(line for line in result.output.splitlines() if current in line)
    assert "4" in line
    assert "current" in line
    assert no_token_in(result.output, tokens)


def test_rotate_then_retire_the_old_key(
    cli_home: Path, warehouse: Vault, tokens: dict[str, dict[str, Any]]
) -> None:
    old_id = warehouse.provider.key_id

    result = run(cli_home, "rotate")

    assert result.exit_code == 0, result.output
    new_id = warehouse.provider.key_id
    assert new_id != old_id
    assert new_id in result.output
    assert "4 data key(s) re-wrapped" in result.output
    assert warehouse.key_usage() == {new_id: 4}
    for connection_id, token in tokens.items():
        assert warehouse.get_json(connection_token_ref(connection_id)) == token
    assert no_token_in(result.output, tokens)

    keys = run(cli_home, "keys")
    retired_line = next(line for line in keys.output.splitlines() if old_id in line)
    assert "retired" in retired_line
    assert " 0 " in retired_line

    retired = run(cli_home, "retire-key", old_id)
    assert retired.exit_code == 0, retired.output
    assert old_id not in Keyring(cli_home, environ={}).provider().key_ids
    assert old_id not in run(cli_home, "keys").output
    assert run(cli_home, "verify").exit_code == 0


def test_retire_is_refused_while_rows_use_the_key(
    cli_home: Path, warehouse: Vault, tokens: dict[str, dict[str, Any]]
) -> None:
    old_id = warehouse.provider.key_id
    Keyring(cli_home, environ={}).rotate_key()  # a new key, rows not re-wrapped yet

    result = run(cli_home, "retire-key", old_id)

    assert result.exit_code == 1
    assert "refused" in result.output
    assert "4 row(s)" in result.output
    assert all(
        warehouse.get_json(connection_token_ref(cid)) == token for cid, token in tokens.items()
    )
    resumed = run(cli_home, "rotate", "--rewrap-only", "--only-stale")
    assert resumed.exit_code == 0, resumed.output
    assert run(cli_home, "retire-key", old_id).exit_code == 0


def test_retire_refuses_the_current_key(cli_home: Path, warehouse: Vault) -> None:
    result = run(cli_home, "retire-key", warehouse.provider.key_id)
    assert result.exit_code == 1
    assert "current key" in result.output


def test_retire_of_a_service_key_is_not_done_here(cli_home: Path, warehouse: Vault) -> None:
    result = run(cli_home, "retire-key", "aws-kms:arn:aws:kms:eu-west-1:1:key/x")
    assert result.exit_code == 2
    assert "not a local key" in result.output


def test_verify_reports_a_tampered_row(
    cli_home: Path, warehouse: Vault, tokens: dict[str, dict[str, Any]]
) -> None:
    assert run(cli_home, "verify").exit_code == 0
    t = vault_secrets_table()
    with warehouse.engine.begin() as conn:
        blob = bytes(
            conn.execute(sa.select(t.c.ciphertext).where(t.c.owner_id == "conn-2")).scalar_one()
        )
        conn.execute(
            t.update()
            .where(t.c.owner_id == "conn-2")
            .values(ciphertext=bytes([blob[0] ^ 1]) + blob[1:])
        )

    result = run(cli_home, "verify")

    assert result.exit_code == 1
    assert "connection/conn-2/oauth_token" in result.output
    assert "connection/conn-1/oauth_token" not in result.output
    assert "3 open, 1 failed" in result.output
    assert no_token_in(result.output, tokens)


def test_a_bad_key_configuration_exits_2_without_echoing(
    cli_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "hvs." + secrets.token_urlsafe(24)
    monkeypatch.setenv("SELLERHUB_KEY_PROVIDER", "vault-transit")
    monkeypatch.setenv("VAULT_TOKEN", token)
    result = run(cli_home, "verify")
    assert result.exit_code == 2
    assert "VAULT_ADDR" in result.output
    assert token not in result.output


def test_the_group_shows_its_commands() -> None:
    result = CliRunner().invoke(vault_app, ["--help"])
    assert result.exit_code == 0
    for command in ("rotate", "verify", "retire-key", "keys"):
        assert command in result.output
