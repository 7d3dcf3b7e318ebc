"""The HTTP API: OAuth callbacks, connection health, liveness.

Every error is a JSON body ``{"error": {"code", "message"}}`` with a 4xx status (or an HTML
page for the seller-facing callback); no stack trace ever reaches a client.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import require_scope
from api.pages import result_page
from sellerhub import control
from sellerhub.apikeys import Principal
from sellerhub.onboarding import AuthorizationFailed, complete_authorization
from sellerhub.runtime import Runtime
from warehouse.queries import summarize

log = logging.getLogger(__name__)

# routers of later stages (scoring queries, seller connect flow), included when present
ROUTER_MODULES = ("api.scoring", "api.connect")

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def create_app(runtime: Runtime, *, lifespan: Lifespan | None = None) -> FastAPI:
    app = FastAPI(title="sellerhub", version="0.1.0", lifespan=lifespan)
    app.state.runtime = runtime

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = getattr(exc, "code", None) or {404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return JSONResponse(
            error_body("invalid_request", f"{where}: {first.get('msg')}"), status_code=422
        )

    @app.exception_handler(Exception)
    async def internal_error(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error in API: %s", type(exc).__name__)
        return JSONResponse(
            error_body("internal_error", "internal error; it has been logged"), status_code=500
        )

    for router_module in ROUTER_MODULES:
        try:
            module = importlib.import_module(router_module)
        except ModuleNotFoundError as missing:
            if missing.name != router_module:
                raise
            continue
        app.include_router(module.router)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/oauth/callback/{platform}", response_class=HTMLResponse)
    async def oauth_callback(platform: str, request: Request) -> HTMLResponse:
        params = dict(request.query_params)
        try:
            connection = await complete_authorization(runtime, platform, params)
        except AuthorizationFailed as failure:
            return HTMLResponse(
                result_page(failure.title, failure.detail, ok=False),
                status_code=failure.status_code,
            )
        return HTMLResponse(
            result_page(
                "Connected",
                f"Your {platform} account {connection.platform_account_id} is connected. "
                "You can close this page.",
                ok=True,
            )
        )

    @app.get("/v1/connections")
    async def connections(
        principal: Annotated[Principal, Depends(require_scope("read"))],
    ) -> dict[str, Any]:
        items = []
        for connection in control.list_connections(runtime.engine, tenant_id=principal.tenant_id):
            summary = summarize(runtime.engine, connection)
            items.append(
                {
                    "id": connection.id,
                    "seller_id": connection.seller_id,
                    "platform": connection.platform,
                    "environment": connection.environment,
                    "platform_account_id": connection.platform_account_id,
                    "status": connection.status,
                    "health": summary.health,
                    "last_success": summary.last_success.isoformat().replace("+00:00", "Z")
                    if summary.last_success
                    else None,
                    "last_error": summary.last_error,
                    "counts": summary.counts,
                    "quarantined": summary.quarantined,
                }
            )
        return {"data": items}

    return app


@asynccontextmanager
async def no_lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield
