"""Tenant authentication for the HTTP API: ``Authorization: Bearer shk_…`` or ``X-API-Key``.

Every tenant-scoped route depends on :func:`require_scope`; handlers then confine every query to
``principal.tenant_id``. A resource of another tenant answers 404, never 403, so ids do not leak.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request

from sellerhub.apikeys import InvalidApiKey, Principal, authenticate


class ApiError(HTTPException):
    """An error with a stable machine-readable code, rendered as ``{"error": {code, message}}``."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(status_code=status_code, detail=message)
        self.code = code


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


def require_scope(scope: str) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    async def dependency(request: Request) -> Principal:
        presented = _presented_key(request)
        if not presented:
            raise ApiError(401, "unauthenticated", "send your API key as 'Authorization: Bearer …'")
        engine = request.app.state.runtime.engine
        try:
            principal = authenticate(engine, presented)
        except InvalidApiKey:
            raise ApiError(401, "unauthenticated", "the API key is not valid") from None
        if scope not in principal.scopes and "admin" not in principal.scopes:
            raise ApiError(403, "forbidden", f"this API key lacks the '{scope}' scope")
        return principal

    return dependency
