"""Where a connection's token lives, and keeping its access token fresh.

One :class:`TokenManager` per connection refreshes under its own ``asyncio.Lock``: authlib's
own lock covers one client instance only, and a rotated refresh token must be refreshed once,
not by every waiting task (DESIGN.md, known pitfalls). A refreshed token is saved through the
store before anyone uses it, so a crash after the refresh never loses a rotated refresh token.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from connectors.errors import ReauthorizationRequired
from connectors.http.oauth_flow import OAuthFlow, Token

log = logging.getLogger(__name__)

REFRESH_MARGIN_SECONDS = 60.0


class TokenStore(Protocol):
    """A connection's token at rest (the vault implements it)."""

    async def load(self) -> dict[str, Any] | None: ...

    async def save(self, token: dict[str, Any]) -> None: ...


class MemoryTokenStore:
    """A TokenStore in memory, for tests and one-off scripts."""

    def __init__(self, token: dict[str, Any] | None = None) -> None:
        self.token = dict(token) if token is not None else None
        self.saves = 0

    def __repr__(self) -> str:
        return f"MemoryTokenStore(saved={self.saves})"

    async def load(self) -> dict[str, Any] | None:
        return dict(self.token) if self.token is not None else None

    async def save(self, token: dict[str, Any]) -> None:
        self.token = dict(token)
        self.saves += 1


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class TokenManager:
    """Hands out a valid access token; refreshes shortly before expiry or after a rejection."""

    def __init__(
        self,
        flow: OAuthFlow,
        store: TokenStore,
        *,
        refresh_margin: float = REFRESH_MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.flow = flow
        self._store = store
        self._margin = refresh_margin
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: Token | None = None

    def __repr__(self) -> str:
        return f"TokenManager({self.flow.facts.name!r})"

    @property
    def platform(self) -> str:
        return self.flow.facts.name

    async def access_token(self) -> str:
        """The current access token, refreshed first when it expires within the margin.

        A token without ``expires_at`` (no ``expires_in`` was given, e.g. Stripe) is never
        refreshed here; :meth:`refresh_after_rejection` handles its 401.
        """
        token = self._token
        if token is None or self._expiring(token):
            async with self._lock:
                token = await self._load()  # another task or manager may have refreshed it
                if self._expiring(token):
                    token = await self._refresh(token)
        return _access(token)

    async def refresh_after_rejection(self, rejected_token: str) -> str:
        """Refresh once after the platform rejected ``rejected_token``, unless already done."""
        async with self._lock:
            token = await self._load()
            current = _access(token)
            if not _same(current, rejected_token):
                return current  # someone refreshed while our request was in flight
            token = await self._refresh(token)
            return _access(token)

    def _expiring(self, token: Token) -> bool:
        expires_at = token.get("expires_at")
        if not isinstance(expires_at, int | float):
            return False
        return float(expires_at) - self._margin <= self._clock()

    async def _load(self) -> Token:
        token = await self._store.load()
        if token is None:
            raise ReauthorizationRequired(
                f"no stored {self.flow.facts.display_name} grant; the seller must connect"
            )
        _access(token)
        self._token = token
        return token

    async def _refresh(self, token: Token) -> Token:
        fresh = await self.flow.refresh(token)
        _access(fresh)
        await self._store.save(fresh)  # saved before use: a rotated refresh token is never lost
        self._token = fresh
        return fresh


def _access(token: Token) -> str:
    value = token.get("access_token")
    if not isinstance(value, str) or not value:
        raise ReauthorizationRequired("the stored grant has no access token; authorize again")
    return value
