"""The Stripe emulator as one ASGI app."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox.common.admin import admin_router
from sandbox.common.faults import FaultMiddleware
from sandbox.stripe.api import api_router, fault_error
from sandbox.stripe.oauth import oauth_router
from sandbox.stripe.world import StripeWorld


def create_app(world: StripeWorld) -> FastAPI:
    app = FastAPI(title="Stripe sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(oauth_router(world))
    app.include_router(api_router(world))
    app.include_router(admin_router(world))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if request.url.path.startswith("/_sandbox"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        message = f"Unrecognized request URL ({request.method}: {request.url.path})."
        return JSONResponse(
            {"error": {"type": "invalid_request_error", "message": message}},
            status_code=exc.status_code,
        )

    app.add_middleware(
        FaultMiddleware, queue=world.core.faults, stats=world.core.stats, render=fault_error
    )
    return app
