"""OAuth tokens and app credentials in the vault: their references and an async token store."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from vault.errors import SecretNotFound
from vault.redact import SecretRedactingFilter
from vault.store import SecretRef, Vault

CONNECTION_KIND = "connection"
OAUTH_TOKEN_NAME = "oauth_token"
TENANT_APP_KIND = "tenant_app"
# Token-dict fields whose values are secrets (registered with a redacting filter when given).
SECRET_TOKEN_FIELDS = ("access_token", "refresh_token", "id_token")


def connection_token_ref(connection_id: str) -> SecretRef:
    """Where the OAuth token of one platform connection is stored."""
    return SecretRef(CONNECTION_KIND, connection_id, OAUTH_TOKEN_NAME)


def app_credentials_ref(tenant_id: str, platform: str) -> SecretRef:
    """Where a tenant's app credentials (client id/secret) for ``platform`` are stored."""
    return SecretRef(TENANT_APP_KIND, tenant_id, platform)


class TokenStore(Protocol):
    """Loads and saves one connection's token dict (the shape the HTTP client's auth uses)."""

    async def load(self) -> dict[str, Any] | None: ...

    async def save(self, token: dict[str, Any]) -> None: ...


class VaultTokenStore:
    """The :class:`TokenStore` of one connection, backed by the vault in a worker thread."""

    def __init__(
        self,
        vault: Vault,
        connection_id: str,
        *,
        redactor: SecretRedactingFilter | None = None,
    ) -> None:
        self._vault = vault
        self._ref = connection_token_ref(connection_id)
        self._redactor = redactor

    def __repr__(self) -> str:
        return f"VaultTokenStore(ref={str(self._ref)!r})"

    @property
    def ref(self) -> SecretRef:
        return self._ref

    async def load(self) -> dict[str, Any] | None:
        """The stored token dict, or None if this connection has none."""
        try:
            token = await asyncio.to_thread(self._vault.get_json, self._ref)
        except SecretNotFound:
            return None
        self._register(token)
        return token

    async def save(self, token: Mapping[str, Any]) -> None:
        """Replace the stored token (e.g. after a refresh rotated it)."""
        self._register(token)
        await asyncio.to_thread(self._vault.put_json, self._ref, token)

    async def delete(self) -> bool:
        """Destroy the stored token (on disconnect); True if there was one."""
        return await asyncio.to_thread(self._vault.delete, self._ref)

    def _register(self, token: Mapping[str, Any]) -> None:
        if self._redactor is None:
            return
        for field in SECRET_TOKEN_FIELDS:
            value = token.get(field)
            if isinstance(value, str):
                self._redactor.register(value)
