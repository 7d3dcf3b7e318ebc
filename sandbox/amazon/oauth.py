"""Seller consent (Seller Central "apps/authorize/consent") and the LWA token endpoint.

Docs: https://developer-docs.amazon.com/sp-api/docs/website-authorization-workflow and
https://developer-docs.amazon.com/sp-api/docs/authorization-errors (MD1000 for a Draft app
without ``version=beta``).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from sandbox.amazon.facts import LWA_CLIENT_PREFIX
from sandbox.amazon.world import AmazonWorld
from sandbox.common.consent import render_consent, render_error, with_query
from sandbox.common.grants import GrantError, IssuedTokens

CONSENT_PATH = "/apps/authorize/consent"
TOKEN_PATH = "/auth/o2/token"
_READS = (
    "Orders (with buyer and shipping details)",
    "Financial transactions and disbursements",
    "Marketplace participations and store name",
)
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _valid_redirect(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def oauth_router(world: AmazonWorld) -> APIRouter:
    router = APIRouter()
    core = world.core

    def _problem(params: dict[str, str]) -> HTMLResponse | None:
        app_id = params.get("application_id", "")
        if not app_id.startswith("amzn1."):
            return HTMLResponse(render_error("Amazon", "MD9100", "Unknown application_id."), 400)
        if core.settings.draft_app and params.get("version") != "beta":
            message = "The application is in Draft state: add version=beta to the consent URL."
            return HTMLResponse(render_error("Amazon", "MD1000", message), 400)
        if not _valid_redirect(params.get("redirect_uri", "")):
            return HTMLResponse(render_error("Amazon", "MD9010", "Invalid redirect_uri."), 400)
        if not params.get("state"):
            return HTMLResponse(
                render_error("Amazon", "MD9020", "The state parameter is required."), 400
            )
        return None

    @router.get(CONSENT_PATH)
    async def consent_page(request: Request) -> Response:
        params = dict(request.query_params)
        problem = _problem(params)
        if problem is not None:
            return problem
        hidden: dict[str, str] = {
            k: params[k]
            for k in ("application_id", "state", "redirect_uri", "version")
            if k in params
        }
        page = render_consent(
            platform="Amazon Seller Central",
            app_label=params["application_id"],
            action=CONSENT_PATH,
            accounts=[
                (s.id, f"{s.id} - {s.profile.store_name} ({s.marketplace.name})")
                for s in world.sellers
            ],
            selected=params.get("account"),
            reads=_READS,
            hidden=hidden,
        )
        return HTMLResponse(page)

    @router.post(CONSENT_PATH)
    async def consent_decision(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        problem = _problem(form)
        if problem is not None:
            return problem
        redirect_uri, state = form["redirect_uri"], form["state"]
        if form.get("decision") != "approve":
            return RedirectResponse(
                with_query(redirect_uri, {"error": "access_denied", "state": state}), 302
            )
        seller = world.seller(form.get("account", ""))
        if seller is None:
            return HTMLResponse(render_error("Amazon", "MD9030", "Unknown selling partner."), 400)
        code = core.grants.issue_code(seller.id, None, redirect_uri, "sellingpartnerapi::all")
        params = {"spapi_oauth_code": code, "selling_partner_id": seller.id, "state": state}
        return RedirectResponse(with_query(redirect_uri, params), 302)

    @router.post(TOKEN_PATH)
    async def token(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        grant_type = form.get("grant_type", "")
        core.stats.token_request(grant_type or "missing")
        client_id, client_secret = _client_credentials(request, form)
        if not client_id.startswith(LWA_CLIENT_PREFIX) or not client_secret:
            return _oauth_error(GrantError("invalid_client", "Client authentication failed", 401))
        lifetime = core.settings.access_token_lifetime
        try:
            if grant_type == "authorization_code":
                if not form.get("code") or not form.get("redirect_uri"):
                    raise GrantError("invalid_request", "code and redirect_uri are required")
                issued = core.grants.redeem_code(
                    form["code"], client_id, form["redirect_uri"], lifetime
                )
            elif grant_type == "refresh_token":
                if not form.get("refresh_token"):
                    raise GrantError("invalid_request", "refresh_token is required")
                issued = core.grants.refresh(
                    form["refresh_token"],
                    client_id,
                    lifetime,
                    rotate=core.settings.rotate_refresh_tokens,
                )
            else:
                raise GrantError("unsupported_grant_type", "The grant type is not supported.")
        except GrantError as error:
            core.stats.token_error(error.error, reused=error.reused)
            return _oauth_error(error)
        return JSONResponse(_token_body(issued), headers=_NO_STORE)

    return router


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            return user, secret
        except ValueError:
            return "", ""
    return form.get("client_id", ""), form.get("client_secret", "")


def _token_body(issued: IssuedTokens) -> dict[str, Any]:
    return {
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token,
        "token_type": "bearer",
        "expires_in": issued.expires_in if issued.expires_in is not None else 3600,
    }


def _oauth_error(error: GrantError) -> JSONResponse:
    return JSONResponse(
        {"error": error.error, "error_description": error.description},
        status_code=error.status,
        headers=_NO_STORE,
    )
