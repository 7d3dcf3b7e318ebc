"""Stripe Connect OAuth for Standard accounts (legacy flow).

Docs: https://docs.stripe.com/connect/oauth-standard-accounts and
https://docs.stripe.com/connect/oauth-reference (authorize, token, deauthorize; errors).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from sandbox.common.consent import render_consent, render_error, with_query
from sandbox.common.grants import GrantError, IssuedTokens
from sandbox.stripe.facts import CONNECT_CLIENT_PREFIX, PLATFORM_SECRET_PREFIX, SCOPES
from sandbox.stripe.world import StripeWorld

AUTHORIZE_PATH = "/oauth/authorize"
TOKEN_PATH = "/oauth/token"
DEAUTHORIZE_PATH = "/oauth/deauthorize"
_READS = (
    "Payments (charges) with the card holder's billing details",
    "Refunds, disputes and balance transactions",
    "Payouts to your bank account",
    "Your account profile",
)


def oauth_router(world: StripeWorld) -> APIRouter:
    router = APIRouter()
    core = world.core

    def _problem(params: dict[str, str]) -> HTMLResponse | None:
        if params.get("response_type", "code") != "code":
            return HTMLResponse(
                render_error("Stripe", "unsupported_response_type", "Use response_type=code."), 400
            )
        if not params.get("client_id", "").startswith(CONNECT_CLIENT_PREFIX):
            return HTMLResponse(
                render_error("Stripe", "invalid_client", "No such application."), 400
            )
        if params.get("scope", "read_only") not in SCOPES:
            return HTMLResponse(render_error("Stripe", "invalid_scope", "Invalid scope."), 400)
        parts = urlsplit(params.get("redirect_uri", ""))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return HTMLResponse(
                render_error("Stripe", "invalid_redirect_uri", "Invalid redirect_uri."), 400
            )
        return None

    @router.get(AUTHORIZE_PATH)
    async def authorize_page(request: Request) -> Response:
        params = dict(request.query_params)
        problem = _problem(params)
        if problem is not None:
            return problem
        hidden: dict[str, str] = {
            k: params[k]
            for k in ("response_type", "client_id", "scope", "state", "redirect_uri")
            if k in params
        }
        page = render_consent(
            platform="Stripe Connect",
            app_label=params["client_id"],
            action=AUTHORIZE_PATH,
            accounts=[
                (a.id, f"{a.id} - {a.profile.business_name} ({a.profile.country})")
                for a in world.connected_accounts
            ],
            selected=params.get("account"),
            reads=_READS,
            hidden=hidden,
        )
        return HTMLResponse(page)

    @router.post(AUTHORIZE_PATH)
    async def authorize_decision(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        problem = _problem(form)
        if problem is not None:
            return problem
        redirect_uri = form["redirect_uri"]
        state = {"state": form["state"]} if "state" in form else {}
        if form.get("decision") != "approve":
            params = {
                "error": "access_denied",
                "error_description": "The user denied your request",
                **state,
            }
            return RedirectResponse(with_query(redirect_uri, params), 302)
        account = world.account(form.get("account", ""))
        if account is None:
            return HTMLResponse(render_error("Stripe", "invalid_request", "Unknown account."), 400)
        scope = form.get("scope", "read_only")
        code = core.grants.issue_code(account.id, form["client_id"], redirect_uri, scope)
        return RedirectResponse(
            with_query(redirect_uri, {"code": code, "scope": scope, **state}), 302
        )

    @router.post(TOKEN_PATH)
    async def token(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        grant_type = form.get("grant_type", "")
        core.stats.token_request(grant_type or "missing")
        if not _platform_secret(request, form).startswith(PLATFORM_SECRET_PREFIX):
            return _oauth_error(
                GrantError("invalid_client", "No valid platform API key provided.", 401)
            )
        lifetime = core.settings.access_token_lifetime
        try:
            if grant_type == "authorization_code":
                if not form.get("code"):
                    raise GrantError("invalid_request", "No authorization code provided")
                issued = core.grants.redeem_code(
                    form["code"], None, form.get("redirect_uri"), lifetime
                )
            elif grant_type == "refresh_token":
                if not form.get("refresh_token"):
                    raise GrantError("invalid_request", "No refresh token provided")
                issued = core.grants.refresh(
                    form["refresh_token"],
                    None,
                    lifetime,
                    rotate=core.settings.rotate_refresh_tokens,
                )
            else:
                raise GrantError("unsupported_grant_type", f"Unsupported grant type: {grant_type}")
        except GrantError as error:
            core.stats.token_error(error.error, reused=error.reused)
            return _oauth_error(error)
        return JSONResponse(_token_body(world, issued))

    @router.post(DEAUTHORIZE_PATH)
    async def deauthorize(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not _platform_secret(request, form).startswith(PLATFORM_SECRET_PREFIX):
            return _oauth_error(
                GrantError("invalid_client", "No valid platform API key provided.", 401)
            )
        client_id, account_id = form.get("client_id", ""), form.get("stripe_user_id", "")
        if core.grants.revoke_account(account_id, client_id) == 0:
            message = f"This application is not connected to stripe account {account_id}."
            return _oauth_error(GrantError("invalid_client", message, 401))
        return JSONResponse({"stripe_user_id": account_id})

    return router


def _platform_secret(request: Request, form: dict[str, str]) -> str:
    """The platform's secret key: HTTP Basic user, Bearer, or the ``client_secret`` field."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            return base64.b64decode(header[6:]).decode().partition(":")[0]
        except ValueError:
            return ""
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return form.get("client_secret", "")


def _token_body(world: StripeWorld, issued: IssuedTokens) -> dict[str, Any]:
    account = world.account(issued.account)
    return {
        "access_token": issued.access_token,
        "livemode": False,
        "refresh_token": issued.refresh_token,
        "token_type": "bearer",
        "stripe_publishable_key": account.publishable_key if account else None,
        "stripe_user_id": issued.account,
        "scope": issued.scope,
    }


def _oauth_error(error: GrantError) -> JSONResponse:
    return JSONResponse(
        {"error": error.error, "error_description": error.description}, status_code=error.status
    )
