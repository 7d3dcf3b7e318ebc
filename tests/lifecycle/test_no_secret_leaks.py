"""No token or client secret in anything the demo prints or logs at DEBUG level, in the files of
its data home (the embedded SQLite warehouse included), in CLI output or in API responses.
(The ``pg_dump`` of a PostgreSQL warehouse is checked by ``assert_dump_has_no_token``, after the
two-process rotation test in test_concurrent_refresh.py.)

The emulators run in this test process with rotating refresh tokens and 62-second access
tokens, so the demo refreshes (Amazon, 60 s before expiry) while it runs: refreshed and rotated
tokens pass through the logging paths too. Tokens replaced since are no longer in the vault, so
besides the exact secrets the vault holds at the end, the output is searched for anything
shaped like the emulators' tokens and codes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from api.app import create_app
from sandbox.server import start_sandbox
from sellerhub import control
from sellerhub.apikeys import issue_key
from sellerhub.runtime import SANDBOX_PLATFORMS, SANDBOX_URLS_ENV, Runtime
from sellerhub.serving import serve_in_thread
from sellerhub.settings import Settings
from vault.store import SecretRef

pytestmark = pytest.mark.slow  # emulators over loopback, child processes

REPO = Path(__file__).resolve().parents[2]
# what the emulators issue (sandbox/*/facts.py TokenFormat): access and refresh tokens, codes
TOKEN_SHAPES = re.compile(
    r"Atz[ar]\|[A-Za-z0-9_\-]{8,}|sk_test_[A-Za-z0-9_\-]{8,}|rt_[A-Za-z0-9_\-]{8,}"
    r"|ANDM[A-Za-z0-9]{8,}|\bac_[A-Za-z0-9]{8,}"
)
MASTER_KEY_FILES = {"master.key"}


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with start_sandbox(SANDBOX_PLATFORMS, tmp_path / "emulators") as sandbox:
        urls = {p: sandbox.base_url(p) for p in SANDBOX_PLATFORMS}
        for url in urls.values():
            configure = f"{url}/_sandbox/config"
            body = {"rotate_refresh_tokens": True, "access_token_lifetime": 62}
            httpx.post(configure, json=body, timeout=30).raise_for_status()
        inherited = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        # the embedded default: the SQLite warehouse lives in the home
        yield {
            **inherited,
            "SELLERHUB_HOME": str(tmp_path / "home"),
            SANDBOX_URLS_ENV: json.dumps(urls),
        }


def run_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "sellerhub.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    output = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
    assert done.returncode == 0, _safe_tail(output)
    return output


def _safe_tail(output: str) -> str:
    """A failure message must not print a leaked token either."""
    return TOKEN_SHAPES.sub("<token>", output)[-3000:]


def vault_secrets(runtime: Runtime) -> list[str]:
    """Every token and client secret the vault holds, decrypted."""
    found: list[str] = []
    for ref in runtime.vault.refs("connection"):
        token = runtime.vault.get_json(ref)
        found += [token[k] for k in ("access_token", "refresh_token") if token.get(k)]
    for ref in runtime.vault.refs("tenant_app"):
        found.append(runtime.vault.get_json(ref)["client_secret"])
    for ref in runtime.vault.refs("tenant"):  # per-tenant keys (buyer hashing, ...)
        try:
            found.append(runtime.vault.get(SecretRef(ref.kind, ref.owner_id, ref.name)).decode())
        except UnicodeDecodeError:
            continue  # binary: never printed as such
    return [secret for secret in found if len(secret) >= 8]


def assert_clean(where: str, text: str | bytes, secrets: list[str]) -> None:
    haystack = text if isinstance(text, bytes) else text.encode()
    leaked = [s[:4] + "…" for s in secrets if s.encode() in haystack]
    assert not leaked, f"{where} contains secrets starting {leaked}"
    if isinstance(text, str):
        shapes = {m[:4] + "…" for m in TOKEN_SHAPES.findall(text)}
        assert not shapes, f"{where} contains token-shaped strings starting {sorted(shapes)}"


def test_the_demo_at_debug_level_leaks_no_secret(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    printed = run_cli(env, "demo", "--verbose", "--sellers", "1")
    printed += run_cli(env, "status", "--verbose")
    assert " DEBUG " in printed  # the logging really was at DEBUG level
    stats = [
        httpx.get(f"{url}/_sandbox/stats", timeout=30).json()
        for url in json.loads(env[SANDBOX_URLS_ENV]).values()
    ]
    assert sum(s["token_requests"]["refresh_token"] for s in stats) > 0  # refreshes were logged
    assert all(s["invalid_grant"] == 0 for s in stats)

    monkeypatch.delenv("DATABASE_URL", raising=False)
    home = Path(env["SELLERHUB_HOME"])
    runtime = Runtime(Settings.from_env(home), migrate=False)
    try:
        secrets = vault_secrets(runtime)
        assert len(secrets) >= 2 * 2 + 2  # 2 connections' tokens, 2 app secrets
        assert_clean("demo and status output", printed, secrets)
        assert_clean("API responses", api_responses(runtime), secrets)
        files = sorted(p for p in home.rglob("*") if p.is_file())
        assert home / "warehouse.db" in files  # the SQLite warehouse (and its -wal) are read
        for path in files:
            if path.name not in MASTER_KEY_FILES:
                assert_clean(str(path.relative_to(home)), path.read_bytes(), secrets)
    finally:
        runtime.close()


def api_responses(runtime: Runtime) -> str:
    [tenant] = [c.tenant_id for c in control.list_connections(runtime.engine)][:1]
    key = issue_key(runtime.engine, tenant, frozenset({"read"})).plaintext
    api = serve_in_thread(create_app(runtime))
    try:
        bodies = [
            httpx.get(f"{api.base_url}{path}", headers={"Authorization": f"Bearer {key}"})
            for path in ("/v1/connections", "/healthz")
        ]
    finally:
        api.stop()
    assert all(reply.status_code == 200 for reply in bodies)
    return "\n".join(reply.text for reply in bodies)


def assert_dump_has_no_token(runtime: Runtime, database_url: str) -> None:
    """``pg_dump`` of the PostgreSQL warehouse: no token or secret the vault holds, in clear."""
    secrets = vault_secrets(runtime)
    assert secrets
    assert_clean("pg_dump of the warehouse", pg_dump(database_url), secrets)


def pg_dump(database_url: str) -> str:
    if shutil.which("pg_dump") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pg_dump is required in CI to check the PostgreSQL dump for tokens")
        pytest.skip("pg_dump not installed: the PostgreSQL dump check is skipped")
    url = make_url(database_url).set(drivername="postgresql")
    done = subprocess.run(
        ["pg_dump", "--no-owner", url.render_as_string(hide_password=False)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    dump = done.stdout.decode(errors="replace")
    assert "vault_secrets" in dump and "connections" in dump  # a real dump of our tables
    return dump
