"""The OAuth code flow from our side: start an authorization, complete it at the callback.

A started authorization is an ``oauth_states`` row: single-use, bound to the tenant, seller and
platform, expiring after ten minutes. Completing it checks all of that before exchanging the
code; nothing is stored unless the exchange succeeds.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session

from connectors.errors import ConnectorError
from sellerhub import control
from sellerhub.runtime import Runtime
from warehouse.tables import Connection, OAuthState, table_of, utcnow

STATE_LIFETIME = timedelta(minutes=10)
# what start_authorization issues (token_urlsafe: URL-safe base64); anything else was never ours
# and must not reach the database (PostgreSQL refuses NUL in text, for one)
STATE_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,128}")


class AuthorizationFailed(Exception):
    """The seller-facing reason an authorization did not complete, and what to do."""

    def __init__(self, title: str, detail: str, *, status_code: int = 400) -> None:
        super().__init__(f"{title}: {detail}")
        self.title = title
        self.detail = detail
        self.status_code = status_code
        # the state this very callback claimed before failing (None: refused before any claim),
        # so the caller may audit a denial and show the way back to the seller's connect page
        self.claimed: OAuthState | None = None


@dataclass(frozen=True)
class StartedAuthorization:
    state: str
    url: str


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def start_authorization(
    runtime: Runtime,
    *,
    tenant_id: str,
    seller_id: str,
    platform: str,
    environment: str = "production",
    region: str = "",
    site: str = "",
    draft_app: bool = False,
    app_id: str | None = None,
) -> StartedAuthorization:
    """A state row and the consent URL. ``site`` (where the platform has consent sites:
    Amazon's Seller Central per marketplace) decides both the page and the API region."""
    flow = runtime.oauth_flow(tenant_id, platform, environment)
    if site:
        consent_site = flow.facts.oauth.consent_site(site)
        if region and region != consent_site.region:
            raise ValueError(f"consent site {site!r} is in region {consent_site.region!r}")
        region = consent_site.region
    # a draft Amazon app needs version=beta, and its consent page takes the SP-API app id
    # (https://developer-docs.amazon.com/sp-api/docs/website-authorization-workflow)
    flow.draft_app = draft_app
    flow.app_id = app_id or flow.app_id
    state = secrets.token_urlsafe(32)
    verifier = pkce_pair()[0] if flow.facts.oauth.pkce else None
    with Session(runtime.engine) as session:
        session.add(
            OAuthState(
                state=state,
                tenant_id=tenant_id,
                seller_id=seller_id,
                platform=platform,
                environment=environment,
                region=region or flow.facts.default_region,
                redirect_uri=runtime.redirect_uri(platform),
                code_verifier=verifier,
                expires_at=utcnow() + STATE_LIFETIME,
            )
        )
        session.commit()
    return StartedAuthorization(
        state=state, url=flow.authorization_url(state, verifier, site=site or None)
    )


async def complete_authorization(
    runtime: Runtime, platform: str, params: Mapping[str, str]
) -> Connection:
    """Check the callback, exchange the code, store the token, create the connection."""
    state_value = params.get("state")
    if not state_value:
        raise AuthorizationFailed(
            "Missing state", "This link is incomplete. Start again from your connect link."
        )
    pending = _claim_state(runtime, state_value, platform)
    try:
        return await _complete_claimed(runtime, platform, params, pending)
    except AuthorizationFailed as failure:
        failure.claimed = pending
        raise


async def _complete_claimed(
    runtime: Runtime, platform: str, params: Mapping[str, str], pending: OAuthState
) -> Connection:
    error = params.get("error")
    if error:
        if error == "access_denied":
            raise AuthorizationFailed(
                "Access not granted",
                f"You declined access at {platform}. Nothing was connected. "
                "You can start again from your connect link at any time.",
            )
        raise AuthorizationFailed(
            "Authorization failed",
            f"{platform} reported '{error}'. Nothing was connected; try again later.",
        )
    flow = runtime.oauth_flow(pending.tenant_id, platform, pending.environment)
    try:
        token = await flow.exchange_code(
            params, expected_state=pending.state, code_verifier=pending.code_verifier
        )
    except ConnectorError as failure:
        raise AuthorizationFailed(
            "Authorization failed",
            f"{platform} did not accept the authorization ({failure}). Nothing was connected; "
            "start again from your connect link.",
            status_code=502,
        ) from None
    account_id = str(token.get("account_id") or "")
    if not account_id:
        raise AuthorizationFailed(
            "Authorization failed",
            f"{platform} did not say which account was authorized. Nothing was connected.",
            status_code=502,
        )
    # the row first (the token is stored under its id), then the token, then active: a crash
    # in between leaves a connection that no sync picks up, never an active one without its
    # new token
    connection = control.consenting_connection(
        runtime.engine,
        tenant_id=pending.tenant_id,
        seller_id=pending.seller_id,
        platform=platform,
        environment=pending.environment,
        region=pending.region,
        platform_account_id=account_id,
    )
    await runtime.token_store(connection.id).save(dict(token))
    return control.activate_connection(
        runtime.engine,
        connection.id,
        seller_id=pending.seller_id,
        scopes=str(token.get("scope") or " ".join(flow.facts.oauth.scopes)),
    )


def _claim_state(runtime: Runtime, value: str, platform: str) -> OAuthState:
    """Mark the state used (single use) and return it, or refuse with the reason."""
    unknown = AuthorizationFailed(
        "Unknown authorization",
        "This authorization was not started here. Start again from your connect link.",
    )
    if not STATE_SHAPE.fullmatch(value):
        raise unknown
    with Session(runtime.engine) as session:
        pending = session.get(OAuthState, value)
        if pending is None:
            raise unknown
        already_used = AuthorizationFailed(
            "Link already used",
            "This authorization was already completed or attempted. Start again from your "
            "connect link.",
        )
        if pending.used_at is not None:
            raise already_used
        if pending.platform != platform:
            raise AuthorizationFailed(
                "Wrong platform",
                "This authorization belongs to another platform. Start again from your "
                "connect link.",
            )
        now = utcnow()
        if pending.expires_at < now:
            raise AuthorizationFailed(
                "Authorization expired",
                "You took longer than ten minutes. Start again from your connect link.",
            )
        session.expunge(pending)
        # claimed only if still unused: two API workers given the same callback race here
        states = table_of(OAuthState)
        claimed = session.connection().execute(
            update(states)
            .where(states.c.state == value, states.c.used_at.is_(None))
            .values(used_at=now)
        )
        session.commit()
        if claimed.rowcount != 1:
            raise already_used
        pending.used_at = now
        return pending
