"""Seller connect links: sellers, tenant apps, signed expiring links, starting an authorization.

A connect link is ``<base>/connect/<token>``; the token is ``payload.signature`` (URL-safe
base64), the payload naming the tenant, the seller, the expiry and optionally the platforms
offered, the signature an HMAC-SHA256 under a server key kept in the vault. Nothing about a link
is stored: it is valid while its signature checks and it has not expired.

An authorization started from the page is tied to the browser that started it: the page sets a
random nonce in an HttpOnly cookie and the attempt keeps its SHA-256, so a callback arriving in
another browser (a link forwarded, a login-CSRF attempt) is refused before anything is claimed
(RFC 6749 §10.12 asks to bind ``state`` to the user agent).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from connectors.registry import UnknownPlatform, get_connector
from sellerhub import control
from sellerhub.connect_catalog import PlatformConsent, consent_for
from sellerhub.onboarding import StartedAuthorization, start_authorization
from sellerhub.runtime import AppCredentials, Runtime
from vault.errors import SecretNotFound
from vault.store import SecretRef
from warehouse.connect_tables import ConnectAttempt, TenantApp
from warehouse.tables import Connection, Seller, Tenant, utcnow

LINK_VERSION = 1
DEFAULT_LINK_LIFETIME = timedelta(days=7)
MAX_LINK_LIFETIME = timedelta(days=30)
SIGNING_KEY_REF = SecretRef("hub", "connect_links", "signing_key")
ENVIRONMENTS = ("production", "sandbox")
BINDING_COOKIE = "sellerhub_connect"
_BINDING_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,64}")
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,1024}\.[A-Za-z0-9_-]{43}")


class NotFound(LookupError):
    """No such seller, connection or platform for this tenant (callers answer 404)."""


class Conflict(ValueError):
    """The thing exists already (callers answer 409)."""


class InvalidConnectLink(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # malformed | expired


@dataclass(frozen=True)
class LinkClaims:
    tenant_id: str
    seller_id: str
    expires_at: datetime
    platforms: tuple[str, ...] = ()  # () = every platform the tenant has an app for


@dataclass(frozen=True)
class IssuedLink:
    token: str
    url: str
    claims: LinkClaims

    def __repr__(self) -> str:
        return f"IssuedLink(seller_id={self.claims.seller_id!r}, token=<redacted>)"


@dataclass(frozen=True)
class PlatformOffer:
    platform: str
    consent: PlatformConsent
    app: TenantApp


# --------------------------------------------------------------------------- sellers


def create_seller(engine: Engine, tenant_id: str, reference: str, name: str) -> Seller:
    """A new seller of ``tenant_id``; ``Conflict`` if the reference is taken."""
    with Session(engine) as session:
        taken = session.exec(
            select(Seller).where(Seller.tenant_id == tenant_id, Seller.reference == reference)
        ).first()
        if taken is not None:
            raise Conflict(f"a seller with reference {reference!r} exists")
        seller = Seller(
            id=control.new_id("sel"), tenant_id=tenant_id, reference=reference, name=name
        )
        session.add(seller)
        try:
            session.commit()
        except IntegrityError:
            raise Conflict(f"a seller with reference {reference!r} exists") from None
        session.refresh(seller)
        session.expunge(seller)
        return seller


def find_seller(engine: Engine, tenant_id: str, seller_id: str) -> Seller | None:
    """The seller, only if it belongs to ``tenant_id``."""
    with Session(engine) as session:
        seller = session.get(Seller, seller_id)
        if seller is None or seller.tenant_id != tenant_id:
            return None
        session.expunge(seller)
        return seller


def find_connection(engine: Engine, tenant_id: str, connection_id: str) -> Connection | None:
    """The connection, only if it belongs to ``tenant_id``."""
    with Session(engine) as session:
        connection = session.get(Connection, connection_id)
        if connection is None or connection.tenant_id != tenant_id:
            return None
        session.expunge(connection)
        return connection


def tenant_name(engine: Engine, tenant_id: str) -> str:
    with Session(engine) as session:
        tenant = session.get(Tenant, tenant_id)
        return tenant.name if tenant is not None else ""


# --------------------------------------------------------------------------- tenant apps


def register_app(
    runtime: Runtime,
    tenant_id: str,
    platform: str,
    credentials: AppCredentials,
    *,
    environment: str = "production",
    draft_app: bool = False,
    app_id: str | None = None,
) -> TenantApp:
    """Store a tenant's app at a platform: credentials in the vault, how it is used here."""
    try:
        get_connector(platform)
    except UnknownPlatform:
        raise NotFound(f"unknown platform {platform!r}") from None
    if environment not in ENVIRONMENTS:
        raise ValueError(f"environment must be one of {', '.join(ENVIRONMENTS)}")
    if not credentials.client_id or not credentials.client_secret:
        raise ValueError("client_id and client_secret are required")
    runtime.register_app(tenant_id, platform, credentials)
    with Session(runtime.engine) as session:
        app = session.get(TenantApp, (tenant_id, platform))
        if app is None:
            app = TenantApp(tenant_id=tenant_id, platform=platform, client_id="")
        app.client_id = credentials.client_id
        app.environment = environment
        app.draft_app = draft_app
        app.app_id = app_id or None
        app.updated_at = utcnow()
        session.add(app)
        session.commit()
        session.refresh(app)
        session.expunge(app)
        return app


def tenant_apps(engine: Engine, tenant_id: str) -> dict[str, TenantApp]:
    with Session(engine) as session:
        rows = list(session.exec(select(TenantApp).where(TenantApp.tenant_id == tenant_id)))
        for row in rows:
            session.expunge(row)
    return {row.platform: row for row in rows}


def offered_platforms(engine: Engine, claims: LinkClaims) -> list[PlatformOffer]:
    """Platforms the page offers: the tenant has an app there, the catalog describes it, and the
    link names it (or names none)."""
    offers = []
    for platform, app in sorted(tenant_apps(engine, claims.tenant_id).items()):
        consent = consent_for(platform)
        if consent is None or (claims.platforms and platform not in claims.platforms):
            continue
        offers.append(PlatformOffer(platform, consent, app))
    return offers


# --------------------------------------------------------------------------- links


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_key(runtime: Runtime) -> bytes:
    """The server's link-signing key, created on first use and kept in the vault."""
    try:
        return runtime.vault.get(SIGNING_KEY_REF)
    except SecretNotFound:
        runtime.vault.put(SIGNING_KEY_REF, secrets.token_bytes(32))
        return runtime.vault.get(SIGNING_KEY_REF)


def sign_link(runtime: Runtime, claims: LinkClaims) -> str:
    payload = {
        "v": LINK_VERSION,
        "t": claims.tenant_id,
        "s": claims.seller_id,
        "e": int(claims.expires_at.timestamp()),
        "p": list(claims.platforms),
    }
    body = _b64(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode())
    signature = hmac.new(signing_key(runtime), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(signature)}"


def read_link(runtime: Runtime, token: str, now: datetime | None = None) -> LinkClaims:
    """The claims of a genuine, unexpired token; ``InvalidConnectLink`` otherwise."""
    if not _TOKEN_SHAPE.fullmatch(token):
        raise InvalidConnectLink("malformed")
    body, _, signature = token.partition(".")
    expected = hmac.new(signing_key(runtime), body.encode(), hashlib.sha256).digest()
    # compare the text: base64 decoding ignores the last character's spare bits
    if not hmac.compare_digest(_b64(expected), signature):
        raise InvalidConnectLink("malformed")
    try:
        payload = json.loads(_unb64(body))
        claims = LinkClaims(
            tenant_id=str(payload["t"]),
            seller_id=str(payload["s"]),
            expires_at=datetime.fromtimestamp(int(payload["e"]), UTC),
            platforms=tuple(str(p) for p in payload.get("p") or ()),
        )
    except (ValueError, KeyError, TypeError):
        raise InvalidConnectLink("malformed") from None
    if payload.get("v") != LINK_VERSION:
        raise InvalidConnectLink("malformed")
    if claims.expires_at <= (now or utcnow()):
        raise InvalidConnectLink("expired")
    return claims


def link_url(runtime: Runtime, token: str) -> str:
    if runtime.api_base_url is None:
        raise RuntimeError("the API is not serving: no public URL for connect links")
    return f"{runtime.api_base_url}/connect/{token}"


def issue_link(
    runtime: Runtime,
    tenant_id: str,
    seller_id: str,
    *,
    lifetime: timedelta = DEFAULT_LINK_LIFETIME,
    platforms: tuple[str, ...] = (),
    now: datetime | None = None,
) -> IssuedLink:
    """A signed link for one of the tenant's sellers; ``NotFound`` for anyone else's seller."""
    if find_seller(runtime.engine, tenant_id, seller_id) is None:
        raise NotFound(f"no seller {seller_id}")
    if not timedelta(minutes=5) <= lifetime <= MAX_LINK_LIFETIME:
        raise ValueError("a link lives between 5 minutes and 30 days")
    apps = tenant_apps(runtime.engine, tenant_id)
    unknown = [p for p in platforms if p not in apps or consent_for(p) is None]
    if unknown:
        raise ValueError(f"no app registered for {', '.join(sorted(unknown))}")
    expires_at = (now or utcnow()).replace(microsecond=0) + lifetime
    claims = LinkClaims(tenant_id, seller_id, expires_at, tuple(sorted(set(platforms))))
    token = sign_link(runtime, claims)
    return IssuedLink(token=token, url=link_url(runtime, token), claims=claims)


# --------------------------------------------------------------------------- starting


def new_binding() -> str:
    return secrets.token_urlsafe(32)


def valid_binding(value: str | None) -> bool:
    return bool(value) and _BINDING_SHAPE.fullmatch(value or "") is not None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def begin(
    runtime: Runtime, claims: LinkClaims, platform: str, site: str, binding: str
) -> StartedAuthorization:
    """Start the seller's authorization at ``platform``: a state row plus our attempt row.
    ``site`` is where the seller said they sell (platforms with consent sites; "" for others
    or for the platform's default)."""
    offers = {offer.platform: offer for offer in offered_platforms(runtime.engine, claims)}
    offer = offers.get(platform)
    if offer is None:
        raise NotFound(f"{platform} is not offered on this page")
    if site and site not in offer.consent.sites:
        raise ValueError(f"unknown place to sell {site[:40]!r}")
    started = start_authorization(
        runtime,
        tenant_id=claims.tenant_id,
        seller_id=claims.seller_id,
        platform=platform,
        environment=offer.app.environment,
        site=site,
        draft_app=offer.app.draft_app,
        app_id=offer.app.app_id,
    )
    with Session(runtime.engine) as session:
        session.add(
            ConnectAttempt(
                state=started.state,
                tenant_id=claims.tenant_id,
                seller_id=claims.seller_id,
                platform=platform,
                link_expires_at=claims.expires_at,
                link_platforms=" ".join(claims.platforms),
                browser_binding=_digest(binding),
            )
        )
        session.commit()
    return started


def attempt_for(engine: Engine, state: str) -> ConnectAttempt | None:
    if not state or len(state) > 128:
        return None
    with Session(engine) as session:
        attempt = session.get(ConnectAttempt, state)
        if attempt is not None:
            session.expunge(attempt)
        return attempt


def same_browser(attempt: ConnectAttempt, binding: str | None) -> bool:
    if not valid_binding(binding):
        return False
    return hmac.compare_digest(attempt.browser_binding, _digest(binding or ""))


def return_token(runtime: Runtime, attempt: ConnectAttempt) -> str:
    """The connect link the attempt came from (re-signed: the same claims give the same token)."""
    claims = LinkClaims(
        attempt.tenant_id,
        attempt.seller_id,
        attempt.link_expires_at,
        tuple(attempt.link_platforms.split()),
    )
    return sign_link(runtime, claims)
