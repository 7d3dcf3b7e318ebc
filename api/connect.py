"""The seller connect flow over HTTP.

Lender API (tenant API key; another tenant's ids answer 404):

* ``POST /v1/sellers`` (connect) creates a seller;
* ``POST /v1/sellers/{id}/connect-links`` (connect) issues a signed, expiring connect link;
* ``POST /v1/connections/{id}/disconnect`` (connect) withdraws a connection;
* ``GET /v1/consent-events`` (read) reads the consent audit log;
* ``PUT /v1/apps/{platform}`` (admin) registers the tenant's app at a platform;
* ``GET`` / ``PUT /v1/retention-policy`` (read / admin): keep synced data, or delete it N days
  after a disconnect.

Seller pages (the link's signed token is the credential): ``GET /connect/{token}`` lists the
platforms, what each reads and why, and what is connected; ``POST .../start/{platform}`` starts
the authorization and redirects to the platform; ``GET``/``POST .../disconnect/{connection}``
confirms and withdraws. The OAuth callback (``api/app.py``) hands over to :func:`oauth_callback`,
which sends the seller back to their page. No route takes a redirect target from the request:
every redirect goes to the platform's authorize URL we built or to our own connect page, and a
request carrying a redirect-like parameter is refused.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlmodel import Session

from api import connect_pages as pages
from api.auth import ApiError, require_scope
from api.pages import result_page as callback_page
from connectors.registry import get_connector
from sellerhub import connect, consent_log, control, withdrawal
from sellerhub.apikeys import Principal
from sellerhub.backfills import Backfills
from sellerhub.connect_catalog import consent_for
from sellerhub.consent_log import Actor
from sellerhub.onboarding import AuthorizationFailed, complete_authorization
from sellerhub.runtime import AppCredentials, Runtime
from warehouse.connect_tables import ConnectAttempt, ConsentEvent, TenantApp
from warehouse.tables import Connection, SyncRun, table_of

log = logging.getLogger(__name__)

# names under which sites commonly accept a place to send the user next; we never do
REDIRECT_PARAMS = frozenset(
    {
        "next",
        "redirect",
        "redirect_uri",
        "redirect_url",
        "redirect_to",
        "return",
        "return_to",
        "returnto",
        "return_url",
        "continue",
        "url",
        "goto",
        "dest",
        "destination",
        "target",
    }
)
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",  # the link's token is in our URLs: never sent elsewhere
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
BINDING_MAX_AGE = 24 * 3600


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    backfills: Backfills | None = getattr(app.state, "connect_backfills", None)
    if backfills is not None:
        await backfills.shutdown()


router = APIRouter(lifespan=_lifespan)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


_BACKFILLS_LOCK = threading.Lock()


def backfills_of(app: FastAPI) -> Backfills:
    """The app's backfill tasks (sync handlers run in worker threads: create it once)."""
    with _BACKFILLS_LOCK:
        backfills: Backfills | None = getattr(app.state, "connect_backfills", None)
        if backfills is None:
            backfills = Backfills(app.state.runtime)
            app.state.connect_backfills = backfills
        return backfills


def _utc(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------- seller pages


def _page(html: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


def _problem(title: str, detail: str, status_code: int, back_url: str | None = None) -> Response:
    return _page(pages.result_page(title, detail, ok=False, back_url=back_url), status_code)


def _redirect_attempt(params: Mapping[str, str]) -> bool:
    return any(name.lower() in REDIRECT_PARAMS for name in params)


def _altered() -> Response:
    return _problem(
        "Link altered",
        "This address carries a redirect we do not accept. Open the connect link you were "
        "given, exactly as you received it.",
        400,
    )


def _claims(runtime: Runtime, token: str) -> connect.LinkClaims | Response:
    try:
        claims = connect.read_link(runtime, token)
    except connect.InvalidConnectLink as invalid:
        if invalid.reason == "expired":
            return _problem(
                "Link expired",
                "This connect link has expired. Ask your lender for a new one.",
                410,
            )
        return _problem(
            "Link not valid",
            "This connect link is not valid. Check that you copied all of it, or ask your "
            "lender for a new one.",
            404,
        )
    if connect.find_seller(runtime.engine, claims.tenant_id, claims.seller_id) is None:
        return _problem("Link not valid", "This connect link is no longer valid.", 404)
    return claims


def _same_origin(runtime: Runtime, request: Request) -> bool:
    """A form post must come from our own page (when the browser says where it came from)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if runtime.api_base_url is None:
        return False
    ours = urlsplit(runtime.api_base_url)
    return origin == f"{ours.scheme}://{ours.netloc}"


def _last_success(runtime: Runtime, connection_id: str) -> datetime | None:
    runs = table_of(SyncRun)
    with Session(runtime.engine) as session:
        value = session.execute(
            select(func.max(runs.c.finished_at)).where(
                runs.c.connection_id == connection_id, runs.c.status == "succeeded"
            )
        ).scalar_one_or_none()
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if isinstance(value, datetime) else None


def _label(platform: str) -> str:
    consent = consent_for(platform)
    return consent.label if consent is not None else get_connector(platform).facts.display_name


def _account(
    runtime: Runtime, backfills: Backfills, connection: Connection
) -> pages.ConnectedAccount:
    return pages.ConnectedAccount(
        connection_id=connection.id,
        platform=connection.platform,
        label=_label(connection.platform),
        account_id=connection.platform_account_id,
        status=connection.status,
        since=connection.consented_at,
        syncing=backfills.running(connection.id),
        last_success=_last_success(runtime, connection.id),
    )


def _seller_connections(runtime: Runtime, claims: connect.LinkClaims) -> list[Connection]:
    return [
        c
        for c in control.list_connections(
            runtime.engine,
            tenant_id=claims.tenant_id,
            seller_id=claims.seller_id,
            statuses=["active", "reauth_required"],
        )
    ]


def _flash(params: Mapping[str, str]) -> tuple[str | None, bool]:
    for key, text in (("connected", "{} is connected."), ("disconnected", "{} is disconnected.")):
        platform = params.get(key)
        if platform and consent_for(platform) is not None:
            return text.format(_label(platform)), True
    return None, True


@router.get("/connect/{token}", response_class=HTMLResponse, include_in_schema=False)
def connect_home(token: str, request: Request) -> Response:
    runtime = _runtime(request)
    if _redirect_attempt(request.query_params):
        return _altered()
    claims = _claims(runtime, token)
    if isinstance(claims, Response):
        return claims
    seller = connect.find_seller(runtime.engine, claims.tenant_id, claims.seller_id)
    assert seller is not None
    backfills = backfills_of(request.app)
    flash, flash_ok = _flash(request.query_params)
    view = pages.ConnectPage(
        token=token,
        lender=connect.tenant_name(runtime.engine, claims.tenant_id),
        seller_name=seller.name,
        expires_at=claims.expires_at,
        offers=connect.offered_platforms(runtime.engine, claims),
        connected=[_account(runtime, backfills, c) for c in _seller_connections(runtime, claims)],
        flash=flash,
        flash_ok=flash_ok,
    )
    return _page(pages.connect_page(view))


@router.post("/connect/{token}/start/{platform}", include_in_schema=False)
async def connect_start(token: str, platform: str, request: Request) -> Response:
    runtime = _runtime(request)
    if request.query_params:
        return _altered()
    if not _same_origin(runtime, request):
        return _problem("Not allowed", "This request did not come from your connect page.", 403)
    form = await request.form()
    if set(form.keys()) - {"site"}:
        return _altered()
    site = str(form.get("site") or "")
    claims = await asyncio.to_thread(_claims, runtime, token)
    if isinstance(claims, Response):
        return claims
    presented = request.cookies.get(connect.BINDING_COOKIE)
    binding = presented if connect.valid_binding(presented) else connect.new_binding()
    assert binding is not None
    try:
        started = await asyncio.to_thread(connect.begin, runtime, claims, platform, site, binding)
    except (connect.NotFound, LookupError):
        return _problem(
            "Not available",
            "This platform is not offered on your connect page.",
            404,
            back_url=f"/connect/{token}",
        )
    except ValueError as error:
        return _problem("Not available", str(error), 400, back_url=f"/connect/{token}")
    response = RedirectResponse(started.url, status_code=303, headers=PAGE_HEADERS)
    if binding != presented:
        response.set_cookie(
            connect.BINDING_COOKIE,
            binding,
            max_age=BINDING_MAX_AGE,
            path="/",
            secure=(runtime.api_base_url or "").startswith("https://"),
            httponly=True,
            samesite="lax",  # sent on the platform's top-level redirect back to our callback
        )
    return response


def _seller_account(
    request: Request, token: str, connection_id: str
) -> tuple[connect.LinkClaims, pages.ConnectedAccount] | Response:
    runtime = _runtime(request)
    claims = _claims(runtime, token)
    if isinstance(claims, Response):
        return claims
    connection = connect.find_connection(runtime.engine, claims.tenant_id, connection_id)
    if (
        connection is None
        or connection.seller_id != claims.seller_id
        or connection.status == "disconnected"
    ):
        return _problem(
            "Not found",
            "That connection is not on your connect page.",
            404,
            back_url=f"/connect/{token}",
        )
    return claims, _account(runtime, backfills_of(request.app), connection)


def _retention_text(runtime: Runtime, tenant_id: str) -> str:
    policy = withdrawal.get_policy(runtime.engine, tenant_id)
    lender = connect.tenant_name(runtime.engine, tenant_id) or "Your lender"
    if policy.mode == "delete" and policy.delete_after_days is not None:
        days = policy.delete_after_days
        unit = "day" if days == 1 else "days"
        return f"Data already read is deleted {days} {unit} after you disconnect."
    return f"Data already read stays with {lender}, under its data retention policy."


@router.get(
    "/connect/{token}/disconnect/{connection_id}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def connect_disconnect_confirm(token: str, connection_id: str, request: Request) -> Response:
    runtime = _runtime(request)
    if _redirect_attempt(request.query_params):
        return _altered()
    found = _seller_account(request, token, connection_id)
    if isinstance(found, Response):
        return found
    claims, account = found
    revocable = get_connector(account.platform).facts.oauth.revoke_url is not None
    return _page(
        pages.disconnect_page(
            token,
            account,
            revocable=revocable,
            retention=_retention_text(runtime, claims.tenant_id),
        )
    )


@router.post("/connect/{token}/disconnect/{connection_id}", include_in_schema=False)
async def connect_disconnect(token: str, connection_id: str, request: Request) -> Response:
    runtime = _runtime(request)
    if request.query_params:
        return _altered()
    if not _same_origin(runtime, request):
        return _problem("Not allowed", "This request did not come from your connect page.", 403)
    found = await asyncio.to_thread(_seller_account, request, token, connection_id)
    if isinstance(found, Response):
        return found
    claims, account = found
    try:
        await withdrawal.disconnect(
            runtime,
            claims.tenant_id,
            connection_id,
            Actor("seller", claims.seller_id),
            backfills=backfills_of(request.app),
            seller_id=claims.seller_id,
        )
    except connect.NotFound:
        return _problem("Not found", "That connection is not on your connect page.", 404)
    return RedirectResponse(
        f"/connect/{token}?disconnected={account.platform}", status_code=303, headers=PAGE_HEADERS
    )


# --------------------------------------------------------------------------- OAuth callback


def _audit_scopes(platform: str) -> tuple[str, str]:
    consent = consent_for(platform)
    requested = " ".join(get_connector(platform).facts.oauth.scopes)
    return requested, consent.data_keys if consent is not None else ""


async def oauth_callback(
    runtime: Runtime,
    request: Request,
    platform: str,
    *,
    complete: Callable[[Runtime, str, dict[str, str]], Awaitable[Connection]] = (
        complete_authorization
    ),
) -> Response:
    """``GET /oauth/callback/{platform}``: complete, audit, queue the backfill, send back.

    An authorization started from a connect page must come back in the same browser (its
    binding cookie); its backfill is queued and the seller returns to their page, which shows
    the new connection. One started elsewhere (the demo, scripted flows, which sync on their
    own) gets the plain result page.
    """
    params = dict(request.query_params)
    if _redirect_attempt(params):
        return _altered()
    attempt: ConnectAttempt | None = await asyncio.to_thread(
        connect.attempt_for, runtime.engine, params.get("state") or ""
    )
    if attempt is not None and not connect.same_browser(
        attempt, request.cookies.get(connect.BINDING_COOKIE)
    ):
        return _problem(
            "Wrong browser",
            "This authorization was started in another browser. For your safety, finish it "
            "where you started: open your connect link there and start again. Nothing was "
            "connected.",
            400,
        )
    try:
        connection = await complete(runtime, platform, params)
    except AuthorizationFailed as failure:
        claimed = failure.claimed
        if claimed is not None and params.get("error") == "access_denied":
            scopes, data = _audit_scopes(platform)
            await asyncio.to_thread(
                consent_log.record,
                runtime.engine,
                tenant_id=claimed.tenant_id,
                seller_id=claimed.seller_id,
                platform=platform,
                action="denied",
                actor=Actor("seller", claimed.seller_id),
                scopes=scopes,
                data=data,
                detail="declined at the platform's consent page",
            )
        if attempt is None:
            return HTMLResponse(
                callback_page(failure.title, failure.detail, ok=False),
                status_code=failure.status_code,
            )
        back = f"/connect/{connect.return_token(runtime, attempt)}" if claimed else None
        return _problem(failure.title, failure.detail, failure.status_code, back_url=back)
    except Exception as error:  # the seller gets a page, not a JSON error body
        log.error("OAuth callback for %s failed: %s", platform, type(error).__name__)
        return _problem(
            "Something went wrong",
            "We could not complete the connection because of an error on our side. Start "
            "again from your connect link; if it happens again, tell your lender.",
            500,
        )
    _, data = _audit_scopes(platform)
    await asyncio.to_thread(
        consent_log.record,
        runtime.engine,
        tenant_id=connection.tenant_id,
        seller_id=connection.seller_id,
        platform=platform,
        action="granted",
        actor=Actor("seller", connection.seller_id),
        connection_id=connection.id,
        platform_account_id=connection.platform_account_id,
        scopes=connection.scopes,
        data=data,
    )
    if attempt is None:
        return HTMLResponse(
            callback_page(
                "Connected",
                f"Your {platform} account {connection.platform_account_id} is connected. "
                "You can close this page.",
                ok=True,
            )
        )
    # only consents given on a connect page: the demo and scripted flows sync on their own
    backfills_of(request.app).queue(connection)
    token = connect.return_token(runtime, attempt)
    return RedirectResponse(
        f"/connect/{token}?connected={platform}", status_code=303, headers=PAGE_HEADERS
    )


# --------------------------------------------------------------------------- lender API

ConnectScope = Annotated[Principal, Depends(require_scope("connect"))]
ReadScope = Annotated[Principal, Depends(require_scope("read"))]
AdminScope = Annotated[Principal, Depends(require_scope("admin"))]


class SellerIn(BaseModel):
    reference: str = Field(min_length=1, max_length=128, description="your own id for the seller")
    name: str = Field(min_length=1, max_length=200)


class ConnectLinkIn(BaseModel):
    expires_in_hours: int = Field(default=168, ge=1, le=720)
    platforms: list[str] = Field(default_factory=list, description="[] = every platform")


class AppIn(BaseModel):
    client_id: str = Field(min_length=1, max_length=255)
    client_secret: str = Field(min_length=1, max_length=1000, repr=False)
    environment: Literal["production", "sandbox"] = "production"
    draft_app: bool = Field(default=False, description="Amazon: the app is still a draft")
    app_id: str | None = Field(default=None, max_length=255, description="Amazon app id")


class RetentionIn(BaseModel):
    mode: Literal["keep", "delete"]
    delete_after_days: int | None = Field(default=None, ge=0, le=3650)


def _app_out(app: TenantApp) -> dict[str, Any]:
    return {
        "platform": app.platform,
        "client_id": app.client_id,
        "environment": app.environment,
        "draft_app": app.draft_app,
        "app_id": app.app_id,
        "updated_at": _utc(app.updated_at),
    }


def _event_out(event: ConsentEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "created_at": _utc(event.created_at),
        "seller_id": event.seller_id,
        "connection_id": event.connection_id,
        "platform": event.platform,
        "platform_account_id": event.platform_account_id,
        "action": event.action,
        "scopes": event.scopes.split(),
        "data": event.data.split(),
        "actor": {"type": event.actor_type, "id": event.actor_id},
        "detail": event.detail,
    }


@router.post("/v1/sellers", status_code=201, tags=["connect"])
def create_seller(body: SellerIn, request: Request, principal: ConnectScope) -> dict[str, Any]:
    try:
        seller = connect.create_seller(
            _runtime(request).engine, principal.tenant_id, body.reference, body.name
        )
    except connect.Conflict as conflict:
        raise ApiError(409, "conflict", str(conflict)) from None
    return {
        "id": seller.id,
        "reference": seller.reference,
        "name": seller.name,
        "created_at": _utc(seller.created_at),
    }


@router.post("/v1/sellers/{seller_id}/connect-links", status_code=201, tags=["connect"])
def create_connect_link(
    seller_id: str, request: Request, principal: ConnectScope, body: ConnectLinkIn | None = None
) -> dict[str, Any]:
    body = body or ConnectLinkIn()
    try:
        issued = connect.issue_link(
            _runtime(request),
            principal.tenant_id,
            seller_id,
            lifetime=timedelta(hours=body.expires_in_hours),
            platforms=tuple(body.platforms),
        )
    except connect.NotFound:
        raise ApiError(404, "not_found", f"no seller {seller_id}") from None
    except ValueError as error:
        raise ApiError(422, "invalid_request", str(error)) from None
    return {
        "seller_id": seller_id,
        "url": issued.url,
        "expires_at": _utc(issued.claims.expires_at),
        "platforms": list(issued.claims.platforms),
    }


@router.post("/v1/connections/{connection_id}/disconnect", tags=["connect"])
async def disconnect_connection(
    connection_id: str, request: Request, principal: ConnectScope
) -> dict[str, Any]:
    try:
        outcome = await withdrawal.disconnect(
            _runtime(request),
            principal.tenant_id,
            connection_id,
            Actor("lender", principal.key_id),
            backfills=backfills_of(request.app),
        )
    except connect.NotFound:
        raise ApiError(404, "not_found", f"no connection {connection_id}") from None
    return {
        "id": outcome.connection_id,
        "platform": outcome.platform,
        "status": "disconnected",
        "already_disconnected": outcome.already,
        "revocation": outcome.revocation,
        "revocation_detail": outcome.revocation_detail,
        "tokens_destroyed": outcome.tokens_destroyed,
    }


@router.get("/v1/consent-events", tags=["connect"])
def consent_events(
    request: Request,
    principal: ReadScope,
    seller_id: str | None = None,
    connection_id: str | None = None,
    platform: str | None = None,
    action: Literal["granted", "denied", "withdrawn"] | None = None,
    since: datetime | None = None,
    after: Annotated[int, Query(ge=0, description="the last id of the previous page")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    engine = _runtime(request).engine
    if (
        seller_id is not None
        and connect.find_seller(engine, principal.tenant_id, seller_id) is None
    ):
        raise ApiError(404, "not_found", f"no seller {seller_id}")
    if (
        connection_id is not None
        and connect.find_connection(engine, principal.tenant_id, connection_id) is None
    ):
        raise ApiError(404, "not_found", f"no connection {connection_id}")
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    events = consent_log.list_events(
        engine,
        principal.tenant_id,
        seller_id=seller_id,
        connection_id=connection_id,
        platform=platform,
        action=action,
        since=since,
        after_id=after,
        limit=limit,
    )
    return {
        "data": [_event_out(event) for event in events],
        "next_after": events[-1].id if len(events) == limit else None,
    }


@router.put("/v1/apps/{platform}", tags=["connect"])
def put_app(platform: str, body: AppIn, request: Request, principal: AdminScope) -> dict[str, Any]:
    try:
        app = connect.register_app(
            _runtime(request),
            principal.tenant_id,
            platform,
            AppCredentials(body.client_id, body.client_secret),
            environment=body.environment,
            draft_app=body.draft_app,
            app_id=body.app_id,
        )
    except connect.NotFound:
        raise ApiError(404, "not_found", f"unknown platform {platform}") from None
    except ValueError as error:
        raise ApiError(422, "invalid_request", str(error)) from None
    return _app_out(app)


def _policy_out(policy: withdrawal.Policy) -> dict[str, Any]:
    return {"mode": policy.mode, "delete_after_days": policy.delete_after_days}


@router.get("/v1/retention-policy", tags=["connect"])
def get_retention(request: Request, principal: ReadScope) -> dict[str, Any]:
    return _policy_out(withdrawal.get_policy(_runtime(request).engine, principal.tenant_id))


@router.put("/v1/retention-policy", tags=["connect"])
def put_retention(body: RetentionIn, request: Request, principal: AdminScope) -> dict[str, Any]:
    try:
        policy = withdrawal.set_policy(
            _runtime(request).engine, principal.tenant_id, body.mode, body.delete_after_days
        )
    except ValueError as error:
        raise ApiError(422, "invalid_request", str(error)) from None
    return _policy_out(policy)
