"""Where a connection's token lives, and keeping its access token fresh.

A :class:`TokenManager` refreshes under its own ``asyncio.Lock`` and then under the
connection's :class:`RefreshLock`: authlib's own lock covers one client instance only, and a
rotating refresh token (Shopify, Square PKCE) must be spent once, not by every waiting task,
client or process (DESIGN.md, known pitfalls). Inside the lock the token is first read again
from the store: whoever held the lock before may have refreshed it already. A refreshed token
is saved through the store before anyone uses it (and before the lock is released), so a crash
after the refresh never loses a rotated refresh token and nobody else spends the old one.
Cross-process locks live in ``sellerhub.locks``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from connectors.errors import ReauthorizationRequired
from connectors.http.oauth_flow import OAuthFlow, Token

log = logging.getLogger(__name__)

REFRESH_MARGIN_SECONDS = 60.0


class TokenStore(Protocol):
    """A connection's token at rest (the vault implements it)."""

    async def load(self) -> dict[str, Any] | None: ...

    async def save(self, token: dict[str, Any]) -> None: ...


class RefreshLock(Protocol):
    """Mutual exclusion for one connection's refresh, held while its token is re-read and, when
    still stale, refreshed and saved. ``hold()`` is entered anew for every refresh."""

    def hold(self) -> AbstractAsyncContextManager[object]: ...


class LocalRefreshLock:
    """A :class:`RefreshLock` for the tasks of one event loop (no other process shares it)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return "LocalRefreshLock()"

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        async with self._lock:
            yield


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
    """Hands out a valid access token; refreshes shortly before expiry or after a rejection.

    ``refresh_lock`` is shared by everyone who refreshes the same connection (other managers,
    other processes); without one, the manager only coordinates its own tasks.
    """

    def __init__(
        self,
        flow: OAuthFlow,
        store: TokenStore,
        *,
        refresh_margin: float = REFRESH_MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
        refresh_lock: RefreshLock | None = None,
    ) -> None:
        self.flow = flow
        self._store = store
        self._margin = refresh_margin
        self._clock = clock
        self._lock = asyncio.Lock()  # this manager's tasks queue here, cheaply, first
        self._shared = refresh_lock if refresh_lock is not None else LocalRefreshLock()
        self._token: Token | None = None
        self.refreshes = 0  # refreshes this manager made itself (not picked up from the store)

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
                token = await self._load()  # another task or process may have refreshed it
                if self._expiring(token):
                    async with self._shared.hold():
                        token = await self._load()  # ... while we waited for the lock
                        if self._expiring(token):
                            token = await self._refresh(token)
        return _access(token)

    async def refresh_after_rejection(self, rejected_token: str) -> str:
        """Refresh once after the platform rejected ``rejected_token``, unless already done."""
        async with self._lock:
            token = await self._load()
            if not _same(_access(token), rejected_token):
                return _access(token)  # someone refreshed while our request was in flight
            async with self._shared.hold():
                token = await self._load()
                if not _same(_access(token), rejected_token):
                    return _access(token)  # ... or while we waited for the lock
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
        """Refresh and save; the caller holds the shared lock, so the save lands before anyone
        else can read the store and spend the (possibly rotated-away) refresh token."""
        fresh = await self.flow.refresh(token)
        _access(fresh)
        await self._store.save(fresh)
        self._token = fresh
        self.refreshes += 1
        return fresh


def _access(token: Token) -> str:
    value = token.get("access_token")
    if not isinstance(value, str) or not value:
        raise ReauthorizationRequired("the stored grant has no access token; authorize again")
    return value
