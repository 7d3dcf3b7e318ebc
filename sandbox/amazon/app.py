"""The Amazon emulator as one ASGI app."""

from __future__ import annotations

import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox.amazon.api import api_router, error_body, fault_error
from sandbox.amazon.oauth import oauth_router
from sandbox.amazon.world import AmazonWorld
from sandbox.common.admin import admin_router
from sandbox.common.faults import FaultMiddleware


def create_app(world: AmazonWorld) -> FastAPI:
    app = FastAPI(title="Amazon SP-API sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(oauth_router(world))
    app.include_router(api_router(world))
    app.include_router(admin_router(world))

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if request.url.path.startswith("/_sandbox"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        code = "NotFound" if exc.status_code == 404 else "InvalidInput"
        return JSONResponse(
            error_body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers={"x-amzn-RequestId": str(uuid.uuid4())},
        )

    app.add_middleware(
        FaultMiddleware, queue=world.core.faults, stats=world.core.stats, render=fault_error
    )
    return app
