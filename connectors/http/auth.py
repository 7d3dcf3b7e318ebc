"""Authentication of API calls: the token on every request, one refresh after a rejection.

This module is the entry point for auth: it also re-exports :class:`OAuthFlow` (consent, code
exchange, refresh, revoke), :class:`TokenStore`, :class:`TokenManager` and :class:`RefreshLock`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Generator

import httpx

from connectors.errors import ReauthorizationRequired
from connectors.http.body import parse_json_object, platform_error
from connectors.http.oauth_flow import OAuthFlow, Token
from connectors.http.tokens import (
    LocalRefreshLock,
    MemoryTokenStore,
    RefreshLock,
    TokenManager,
    TokenStore,
)
from connectors.model import OAuthFacts, PlatformFacts

__all__ = [
    "LocalRefreshLock",
    "MemoryTokenStore",
    "OAuthFlow",
    "PlatformAuth",
    "RefreshLock",
    "Token",
    "TokenManager",
    "TokenStore",
    "is_auth_failure",
]

log = logging.getLogger(__name__)


def is_auth_failure(response: httpx.Response, oauth: OAuthFacts) -> bool:
    """Does ``response`` say the access token was not accepted?

    401 always does. Other statuses in ``oauth.auth_failure_statuses`` do when their body's
    error code is in ``oauth.auth_failure_codes`` (or that list is empty): Amazon answers an
    expired token with 403 and code ``Unauthorized``, but also uses 403 for other refusals
    (https://developer-docs.amazon.com/sp-api/docs/response-format).
    """
    status = response.status_code
    if status == 401:
        return True
    if status not in oauth.auth_failure_statuses:
        return False
    if not oauth.auth_failure_codes:
        return True
    code, _ = platform_error(parse_json_object(response.content, response.encoding))
    return code in oauth.auth_failure_codes


class PlatformAuth(httpx.Auth):
    """Puts the access token where the platform wants it; refreshes once and retries once.

    Amazon: ``x-amz-access-token: <token>``
    (https://developer-docs.amazon.com/sp-api/docs/connecting-to-the-selling-partner-api);
    Stripe: ``Authorization: Bearer <token>`` (https://docs.stripe.com/api/authentication).
    A second rejection raises :class:`ReauthorizationRequired`.
    """

    def __init__(self, facts: PlatformFacts, tokens: TokenManager) -> None:
        self._tokens = tokens
        self._oauth = facts.oauth
        self._platform = facts.display_name

    def __repr__(self) -> str:
        return f"PlatformAuth({self._tokens.platform!r})"

    def _sign(self, request: httpx.Request, token: str) -> None:
        request.headers[self._oauth.token_header] = f"{self._oauth.token_prefix}{token}"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("PlatformAuth works with httpx.AsyncClient only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._tokens.access_token()
        self._sign(request, token)
        response = yield request
        await response.aread()  # an overridden async_auth_flow must read the body itself
        if not is_auth_failure(response, self._oauth):
            return
        log.info(
            "%s rejected the access token (HTTP %d); refreshing once",
            self._platform,
            response.status_code,
        )
        token = await self._tokens.refresh_after_rejection(token)
        self._sign(request, token)
        response = yield request
        await response.aread()
        if is_auth_failure(response, self._oauth):
            code, _ = platform_error(parse_json_object(response.content, response.encoding))
            raise ReauthorizationRequired(
                f"{self._platform} rejected a freshly refreshed access token "
                f"(HTTP {response.status_code}{' ' + code if code else ''}); "
                "the seller must authorize again",
                status_code=response.status_code,
            )
