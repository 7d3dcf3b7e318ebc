"""Everything a command needs, wired once: warehouse, vault, sandbox emulators, clients.

A connection in the ``sandbox`` environment talks to our emulators instead of the platform:
the runtime starts the emulators its connections need (on loopback, state kept in the home so
tokens issued earlier still work) and rewrites the platform's URLs to them.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from connectors.environment import sandbox_facts
from connectors.http.auth import OAuthFlow, PlatformAuth, TokenManager
from connectors.http.client import PlatformClient
from connectors.http.ratelimit import budget_for
from connectors.http.retry import RetryPolicy
from connectors.model import PlatformFacts
from connectors.registry import get_connector
from normalizer.context import MappingContext
from sellerhub.locks import RefreshLocks, refresh_locks_for
from sellerhub.settings import Settings
from vault.config import provider_from_env
from vault.errors import SecretNotFound
from vault.redact import SecretRedactingFilter
from vault.store import SecretRef, Vault
from vault.tokens import VaultTokenStore, app_credentials_ref
from warehouse.engine import make_engine
from warehouse.migrate import upgrade
from warehouse.tables import Connection

log = logging.getLogger(__name__)

SANDBOX_PLATFORMS = ("amazon", "stripe")
SANDBOX_URLS_ENV = "SELLERHUB_SANDBOX_URLS"


class ExternalSandbox:
    """Emulators someone else runs; we only know their URLs."""

    def __init__(self, urls: dict[str, str]) -> None:
        self._urls = urls

    def base_url(self, platform: str) -> str:
        if platform not in self._urls:
            raise LookupError(f"{SANDBOX_URLS_ENV} names no emulator for {platform}")
        return self._urls[platform]

    def stop(self) -> None:
        """Not ours to stop."""


@dataclass(frozen=True)
class AppCredentials:
    """A tenant's registered app at one platform. ``repr`` never shows the secret."""

    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"AppCredentials(client_id={self.client_id!r}, client_secret=<redacted>)"


def sandbox_app_credentials(platform: str) -> AppCredentials:
    """Credentials the emulators accept (by the platform's documented id prefixes)."""
    suffix = secrets.token_hex(12)
    if platform == "amazon":
        return AppCredentials(f"amzn1.application-oa2-client.{suffix}", secrets.token_hex(32))
    if platform == "stripe":
        return AppCredentials(f"ca_{suffix}", f"sk_test_{secrets.token_hex(24)}")
    raise ValueError(f"no sandbox emulator for {platform}")


class Runtime:
    def __init__(self, settings: Settings, *, migrate: bool = True) -> None:
        self.settings = settings
        settings.ensure_home()
        self.engine: Engine = make_engine(settings.database_url)
        if migrate:
            upgrade(self.engine)
        self.redactor = SecretRedactingFilter()
        # one refresh at a time per connection, across tasks and processes
        self.refresh_locks: RefreshLocks = refresh_locks_for(self.engine)
        self.vault = Vault(self.engine, provider_from_env(settings.home))
        self._sandbox: Any = None
        self.api_base_url: str | None = None
        self.retry_policy = RetryPolicy()

    # ------------------------------------------------------------------ sandbox

    def sandbox(self) -> Any:
        """The running emulators: started on first use, or the ones ``SELLERHUB_SANDBOX_URLS``
        names (a JSON object platform -> base URL, for tests that run emulators themselves)."""
        if self._sandbox is None:
            external = os.environ.get(SANDBOX_URLS_ENV)
            if external:
                self._sandbox = ExternalSandbox(json.loads(external))
            else:
                from sandbox.server import start_sandbox

                self._sandbox = start_sandbox(SANDBOX_PLATFORMS, self.settings.sandbox_dir)
        return self._sandbox

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None
        self.refresh_locks.close()
        self.engine.dispose()

    # ------------------------------------------------------------------ platforms

    def facts(self, platform: str, environment: str) -> PlatformFacts:
        facts = get_connector(platform).facts
        if environment == "sandbox":
            return sandbox_facts(facts, self.sandbox().base_url(platform))
        return facts

    def redirect_uri(self, platform: str) -> str:
        if self.api_base_url is None:
            raise RuntimeError("the API is not serving: no OAuth redirect URI")
        return f"{self.api_base_url}/oauth/callback/{platform}"

    def register_app(self, tenant_id: str, platform: str, credentials: AppCredentials) -> None:
        self.redactor.register(credentials.client_secret)
        self.vault.put_json(
            app_credentials_ref(tenant_id, platform),
            {"client_id": credentials.client_id, "client_secret": credentials.client_secret},
        )

    def app_credentials(self, tenant_id: str, platform: str) -> AppCredentials:
        try:
            data = self.vault.get_json(app_credentials_ref(tenant_id, platform))
        except SecretNotFound:
            raise LookupError(
                f"tenant {tenant_id} has no {platform} app credentials; register them first"
            ) from None
        self.redactor.register(data["client_secret"])
        return AppCredentials(data["client_id"], data["client_secret"])

    def oauth_flow(self, tenant_id: str, platform: str, environment: str) -> OAuthFlow:
        credentials = self.app_credentials(tenant_id, platform)
        return OAuthFlow(
            self.facts(platform, environment),
            credentials.client_id,
            credentials.client_secret,
            self.redirect_uri(platform) if self.api_base_url else "",
        )

    def token_store(self, connection_id: str) -> VaultTokenStore:
        return VaultTokenStore(self.vault, connection_id, redactor=self.redactor)

    # ------------------------------------------------------------------ mapping context

    def buyer_hash_key(self, tenant_id: str) -> bytes:
        """Each tenant hashes buyers with its own key, kept in the vault."""
        ref = SecretRef("tenant", tenant_id, "buyer_hash_key")
        try:
            return bytes.fromhex(self.vault.get(ref).decode())
        except SecretNotFound:
            key = secrets.token_bytes(32)
            self.vault.put(ref, key.hex().encode())
            return key

    def mapping_context(self, connection: Connection) -> MappingContext:
        return MappingContext(
            platform=connection.platform,
            buyer_hash_key=self.buyer_hash_key(connection.tenant_id),
            account_id=connection.platform_account_id or None,
        )

    # ------------------------------------------------------------------ clients

    @asynccontextmanager
    async def open_client(self, connection: Connection) -> AsyncIterator[PlatformClient]:
        facts = self.facts(connection.platform, connection.environment)
        credentials = self.app_credentials(connection.tenant_id, connection.platform)
        flow = OAuthFlow(facts, credentials.client_id, credentials.client_secret, "")
        manager = TokenManager(
            flow,
            self.token_store(connection.id),
            refresh_lock=self.refresh_locks.for_connection(connection.id),
        )
        client = PlatformClient(
            facts,
            base_url=facts.base_url(connection.region or None),
            auth=PlatformAuth(facts, manager),
            budget=budget_for(facts, connection.platform_account_id),
            retry=self.retry_policy,
        )
        try:
            yield client
        finally:
            await client.aclose()

    def open(self, connection: Connection) -> Any:
        return self.open_client(connection)
