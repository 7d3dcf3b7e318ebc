"""The OAuth 2.0 authorization-code grant of one platform app, with the platform's quirks as data.

Built on authlib's httpx client (``AsyncOAuth2Client``) for the token endpoint. Quirks handled
from :class:`connectors.model.OAuthFacts`:

* the client id travels as ``application_id`` at Amazon's consent page, and a draft app must add
  ``version=beta`` (https://developer-docs.amazon.com/sp-api/docs/authorization-errors, MD1000);
* Amazon's callback carries the code as ``spapi_oauth_code`` and the account as
  ``selling_partner_id`` (https://developer-docs.amazon.com/sp-api/docs/website-authorization-workflow);
* Stripe names the account ``stripe_user_id`` in the token response and revokes a grant with
  ``/oauth/deauthorize`` (https://docs.stripe.com/connect/oauth-reference).

``state`` is always checked: first here (constant time), and again by authlib, which checks it
only when it is passed to ``fetch_token`` (DESIGN.md, known pitfalls).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from connectors.errors import (
    AuthorizationFailed,
    ConnectorError,
    Fault,
    ReauthorizationRequired,
    RetryableError,
)
from connectors.http._authlib import AsyncOAuth2Client, AuthlibBaseError, ProtocolClient
from connectors.http.body import parse_json_object, platform_error
from connectors.http.redact import redact
from connectors.http.retry import parse_retry_after
from connectors.model import PlatformFacts

log = logging.getLogger(__name__)

Token = dict[str, Any]

# what authlib's OAuth2 token objects add that we do not store
_EPHEMERAL_KEYS = ("expires_in", "expires_at")


class OAuthFlow:
    """Consent URL, code exchange, refresh and revocation for one app at one platform."""

    def __init__(
        self,
        facts: PlatformFacts,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        app_id: str | None = None,
        draft_app: bool = False,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.facts = facts
        self.client_id = client_id
        # Amazon's consent page takes the SP-API application id (amzn1.sp.solution..., from
        # Developer Central), which differs from the LWA client id of the token endpoint
        # (https://developer-docs.amazon.com/sp-api/docs/website-authorization-workflow)
        self.app_id = app_id or client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.draft_app = draft_app
        self._transport = transport
        self._timeout = timeout
        self._clock = clock

    def __repr__(self) -> str:
        return f"OAuthFlow({self.facts.name!r}, redirect_uri={self.redirect_uri!r})"

    # -- consent ---------------------------------------------------------------------------

    def authorization_url(
        self, state: str, code_verifier: str | None = None, *, site: str | None = None
    ) -> str:
        """Where to send the seller to approve access. ``state`` must be unguessable; ``site``
        names the consent site (``OAuthFacts.consent_sites``) where the platform has several."""
        oauth = self.facts.oauth
        authorize_url = oauth.consent_site(site).authorize_url if site else oauth.authorize_url
        if not state:
            raise ValueError("state is required (CSRF protection)")
        if oauth.pkce and not code_verifier:
            raise ValueError(f"{self.facts.name} uses PKCE: pass a code_verifier")
        extra = dict(oauth.extra_authorize_params)
        if self.draft_app:
            extra.update(oauth.draft_app_params)
        client = ProtocolClient(
            None,
            client_id=self.app_id,
            scope=" ".join(oauth.scopes) or None,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256" if oauth.pkce else None,
        )
        url, _ = client.create_authorization_url(
            authorize_url,
            state=state,
            code_verifier=code_verifier if oauth.pkce else None,
            **extra,
        )
        if oauth.client_id_param != "client_id":
            url = _rename_query_param(str(url), "client_id", oauth.client_id_param)
        return str(url)

    # -- code exchange ---------------------------------------------------------------------

    async def exchange_code(
        self,
        callback_params: Mapping[str, str],
        expected_state: str,
        code_verifier: str | None = None,
    ) -> Token:
        """Turn the consent callback into a token; ``token["account_id"]`` names the account."""
        oauth = self.facts.oauth
        name = self.facts.display_name
        # a callback that is not ours is refused before anything in it is believed
        state = callback_params.get("state") or ""
        if not expected_state or not hmac.compare_digest(state.encode(), expected_state.encode()):
            raise AuthorizationFailed(
                f"{name} callback state does not match this connect session; start again",
                reason="state_mismatch",
            )
        error = callback_params.get("error")
        if error:
            description = redact(callback_params.get("error_description") or "")
            detail = f" ({description})" if description else ""
            raise AuthorizationFailed(
                f"{name} did not grant access: {redact(error)}{detail}", reason=redact(error)
            )
        code = callback_params.get(oauth.code_param)
        if not code:
            raise AuthorizationFailed(
                f"{name} callback has no {oauth.code_param!r}", reason="missing_code"
            )
        account_id: str | None = None
        if oauth.account_id_param and not oauth.account_id_in_token_response:
            account_id = callback_params.get(oauth.account_id_param)
            if not account_id:
                raise AuthorizationFailed(
                    f"{name} callback has no {oauth.account_id_param!r}",
                    reason="missing_account_id",
                )

        # authlib parses the standard callback (``code`` and ``state``) and checks state itself
        callback = _with_query(self.redirect_uri, {"code": code, "state": state})
        extra: dict[str, str] = {}
        if oauth.pkce and code_verifier:
            extra["code_verifier"] = code_verifier
        async with self._oauth_client() as client:
            try:
                raw = await client.fetch_token(
                    oauth.token_url,
                    authorization_response=callback,
                    state=expected_state,
                    **extra,
                )
            except AuthlibBaseError as exc:
                raise self._exchange_error(exc) from None
            except httpx.TransportError as exc:
                raise RetryableError(
                    f"{name} token endpoint unreachable: {type(exc).__name__}"
                ) from None

        token = self._stamp(dict(raw))
        if oauth.account_id_param and oauth.account_id_in_token_response:
            account_id = token.get(oauth.account_id_param)
            if not isinstance(account_id, str) or not account_id:
                raise AuthorizationFailed(
                    f"{name} token response has no {oauth.account_id_param!r}",
                    reason="missing_account_id",
                )
        if account_id:
            token["account_id"] = account_id
        log.info("%s: authorization code exchanged for a grant", self.facts.name)
        return token

    def _exchange_error(self, exc: AuthlibBaseError) -> ConnectorError:
        name = self.facts.display_name
        code = redact(str(exc.error or "oauth_error"))
        if code == "mismatching_state":
            return AuthorizationFailed(
                f"{name} callback state does not match this connect session; start again",
                reason="state_mismatch",
            )
        description = redact(str(exc.description or ""))
        error = AuthorizationFailed(
            f"{name} refused the authorization code: {code}"
            + (f" ({description})" if description else ""),
            reason=code,
        )
        if code in ("invalid_client", "unauthorized_client"):
            error.fault = Fault.OURS  # our app credentials are wrong, not the seller's doing
        return error

    # -- refresh ---------------------------------------------------------------------------

    async def refresh(self, token: Mapping[str, Any]) -> Token:
        """A new token from ``token``'s refresh token, keeping what the response leaves out.

        Amazon does not rotate the refresh token and Stripe may omit fields; a response without
        ``refresh_token`` keeps the old one. ``invalid_grant`` means the seller revoked access or
        the grant expired: :class:`ReauthorizationRequired`.
        """
        name = self.facts.display_name
        refresh_token = token.get("refresh_token")
        if not isinstance(refresh_token, str) or not refresh_token:
            raise ReauthorizationRequired(f"{name} grant has no refresh token; authorize again")
        async with self._oauth_client() as client:
            try:
                raw = await client.refresh_token(
                    self.facts.oauth.token_url, refresh_token=refresh_token
                )
            except AuthlibBaseError as exc:
                raise self._refresh_error(exc) from None
            except httpx.TransportError as exc:
                raise RetryableError(
                    f"{name} token endpoint unreachable: {type(exc).__name__}"
                ) from None
        fresh = {k: v for k, v in dict(raw).items() if v is not None}
        kept = {k: v for k, v in token.items() if k not in _EPHEMERAL_KEYS}
        merged = self._stamp({**kept, **fresh})
        if not fresh.get("refresh_token"):
            merged["refresh_token"] = refresh_token
        log.info("%s: access token refreshed", self.facts.name)
        return merged

    def _refresh_error(self, exc: AuthlibBaseError) -> ConnectorError:
        name = self.facts.display_name
        code = redact(str(exc.error or "oauth_error"))
        description = redact(str(exc.description or ""))
        detail = f"{code}" + (f" ({description})" if description else "")
        if code in ("invalid_client", "unauthorized_client"):
            return ConnectorError(f"{name} token endpoint refused our app credentials: {detail}")
        # invalid_grant and anything else the token endpoint refuses: the grant is unusable
        return ReauthorizationRequired(f"{name} refused to refresh the grant: {detail}")

    # -- revoke ----------------------------------------------------------------------------

    async def revoke(self, token: Mapping[str, Any]) -> None:
        """Revoke the grant where the platform has an endpoint; a no-op where it has none.

        Amazon has no revocation endpoint: the seller removes the app in Seller Central, and we
        destroy the tokens (https://developer-docs.amazon.com/sp-api/docs/authorizing-selling-partner-api-applications).
        """
        oauth = self.facts.oauth
        name = self.facts.display_name
        if not oauth.revoke_url:
            log.info("%s has no revocation endpoint; nothing to call", self.facts.name)
            return
        if oauth.revoke_style == "account":
            account_id = token.get("account_id")
            if not isinstance(account_id, str) or not account_id or not oauth.account_id_param:
                raise ConnectorError(f"{name}: cannot revoke a grant without its account id")
            data = {"client_id": self.client_id, oauth.account_id_param: account_id}
            # Stripe authenticates this call with the platform's secret key
            auth: httpx.Auth = httpx.BasicAuth(self._client_secret, "")
        else:
            value = token.get("refresh_token") or token.get("access_token")
            if not isinstance(value, str) or not value:
                return
            hint = "refresh_token" if token.get("refresh_token") else "access_token"
            data = {"token": value, "token_type_hint": hint}
            auth = httpx.BasicAuth(self.client_id, self._client_secret)
        async with httpx.AsyncClient(transport=self._transport, timeout=self._timeout) as http:
            try:
                response = await http.post(oauth.revoke_url, data=data, auth=auth)
            except httpx.TransportError as exc:
                raise RetryableError(
                    f"{name} revocation endpoint unreachable: {type(exc).__name__}"
                ) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryableError(
                f"{name} revocation failed: HTTP {response.status_code}",
                status_code=response.status_code,
            )
        if response.status_code >= 400:
            code, message = platform_error(parse_json_object(response.content, response.encoding))
            raise ConnectorError(
                f"{name} refused the revocation: HTTP {response.status_code} {code or ''}"
                + (f" ({message})" if message else ""),
                status_code=response.status_code,
            )
        log.info("%s: grant revoked", self.facts.name)

    # -- helpers ---------------------------------------------------------------------------

    def _stamp(self, token: Token) -> Token:
        """Replace authlib's expiry with an absolute ``expires_at`` from our clock (or none)."""
        token.pop("expires_at", None)
        expires_in = token.get("expires_in")
        if expires_in is not None:
            try:
                token["expires_at"] = int(self._clock() + float(expires_in))
            except (TypeError, ValueError):
                token.pop("expires_in", None)
        return token

    def _oauth_client(self) -> AsyncOAuth2Client:
        oauth = self.facts.oauth
        client = AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self._client_secret,
            token_endpoint_auth_method=oauth.token_endpoint_auth_method,
            scope=" ".join(oauth.scopes) or None,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256" if oauth.pkce else None,
            transport=self._transport,
            timeout=self._timeout,
        )
        hook = self._token_response_hook
        client.register_compliance_hook("access_token_response", hook)
        client.register_compliance_hook("refresh_token_response", hook)
        return client

    def _token_response_hook(self, response: httpx.Response) -> httpx.Response:
        """Throttling and server errors at the token endpoint are retryable, not a refusal."""
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryableError(
                f"{self.facts.display_name} token endpoint: HTTP {response.status_code}",
                status_code=response.status_code,
                retry_after=parse_retry_after(
                    response.headers.get("Retry-After"), _utc_now(self._clock)
                ),
            )
        return response


def _utc_now(clock: Callable[[], float]) -> datetime:
    return datetime.fromtimestamp(clock(), UTC)


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode(dict(params)), fragment=""))


def _rename_query_param(url: str, old: str, new: str) -> str:
    parts = urlsplit(url)
    pairs = [(new if k == old else k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(pairs)))
