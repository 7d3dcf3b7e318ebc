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
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import require_scope
from sellerhub import control
from sellerhub.apikeys import Principal
from sellerhub.onboarding import complete_authorization
from sellerhub.runtime import Runtime
from warehouse.queries import summarize

log = logging.getLogger(__name__)

# routers of later stages (scoring queries, seller connect flow), included when present
ROUTER_MODULES = ("api.scoring", "api.connect")

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    methods: set[str] = set()
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path_regex.match(path):
            methods |= route.methods or set()
    return sorted(methods)


def create_app(runtime: Runtime, *, lifespan: Lifespan | None = None) -> FastAPI:
    app = FastAPI(title="sellerhub", version="0.1.0", lifespan=lifespan)
    app.state.runtime = runtime

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = getattr(exc, "code", None) or {404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; a path served by two
            # routers (GET in one, POST in another) must list them all
            headers["Allow"] = ", ".join(allowed_methods(app, request.url.path))
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=headers
        )

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
    async def oauth_callback(platform: str, request: Request) -> Response:
        # the connect flow completes it: checks, consent audit, backfill, back to the seller
        from api.connect import oauth_callback as complete_callback

        return await complete_callback(runtime, request, platform, complete=complete_authorization)

    # a plain def: FastAPI runs it in a worker thread, so its database reads do not block the
    # event loop that serves the OAuth callbacks
    @app.get("/v1/connections")
    def connections(
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
                    "mapping_up_to_date": summary.mapping_reminder is None,
                }
            )
        return {"data": items}

    return app


@asynccontextmanager
async def no_lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield
