"""Admin endpoints under ``/_sandbox`` (no auth, loopback callers only)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from sandbox.common.faults import ADMIN_PREFIX, QueuedFault
from sandbox.common.world import PlatformWorld

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _loopback_only(request: Request) -> None:
    host = request.client.host if request.client else None
    if host not in _LOOPBACK:
        raise HTTPException(status_code=403, detail="admin endpoints answer loopback callers only")


class FaultIn(BaseModel):
    kind: Literal["status", "slow", "cut", "revoke", "expire_access_tokens"]
    status: int | None = Field(default=None, ge=400, le=599)
    count: int = Field(default=1, ge=1)
    path_prefix: str | None = None
    retry_after: float | None = Field(default=None, ge=0)
    delay: float = Field(default=0.0, ge=0)
    account: str | None = None


class ActivityIn(BaseModel):
    account: str
    orders: int = Field(ge=1, le=1000)


class StatusIn(BaseModel):
    status: str


class ConfigIn(BaseModel):
    """The knobs of ``Settings``; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")

    access_token_lifetime: int | None = Field(default=None, ge=1)
    before_margin: float | None = Field(default=None, ge=0)
    release_delay: float | None = Field(default=None, ge=0)
    draft_app: bool | None = None
    rotate_refresh_tokens: bool | None = None


class ClockIn(BaseModel):
    advance_seconds: float


def admin_router(world: PlatformWorld) -> APIRouter:
    core = world.core
    router = APIRouter(prefix=ADMIN_PREFIX, dependencies=[Depends(_loopback_only)])
    known_accounts = {a["id"] for a in world.accounts()}

    def _require_account(account: str | None) -> str:
        if account is None or account not in known_accounts:
            raise HTTPException(status_code=404, detail=f"unknown account {account!r}")
        return account

    @router.post("/faults")
    async def add_fault(fault: FaultIn) -> dict[str, Any]:
        if fault.kind == "revoke":
            account = _require_account(fault.account)
            return {"revoked": core.grants.revoke_account(account), "account": account}
        if fault.kind == "expire_access_tokens":
            core.grants.expire_access_tokens()
            return {"expired": True}
        if fault.kind == "status" and fault.status is None:
            raise HTTPException(status_code=400, detail="a status fault needs 'status'")
        core.faults.add(
            QueuedFault(
                kind=fault.kind,
                count=fault.count,
                path_prefix=fault.path_prefix,
                status=fault.status,
                retry_after=fault.retry_after,
                delay=fault.delay,
            )
        )
        return {"queued": core.faults.pending()}

    @router.get("/faults")
    async def list_faults() -> dict[str, Any]:
        return {"queued": core.faults.pending()}

    @router.delete("/faults")
    async def clear_faults() -> dict[str, Any]:
        core.faults.clear()
        return {"queued": []}

    @router.get("/truth")
    async def truth() -> dict[str, Any]:
        return world.truth()

    @router.get("/stats")
    async def stats() -> dict[str, Any]:
        return core.stats.snapshot()

    @router.get("/accounts")
    async def accounts() -> dict[str, Any]:
        return {"platform": core.platform, "accounts": world.accounts()}

    @router.post("/activity")
    async def activity(body: ActivityIn) -> dict[str, Any]:
        account = _require_account(body.account)
        return {"account": account, "created": world.add_activity(account, body.orders)}

    @router.post("/orders/{order_id}/status")
    async def order_status(order_id: str, body: StatusIn) -> dict[str, Any]:
        try:
            return world.set_order_status(order_id, body.status)
        except KeyError as exc:
            raise HTTPException(status_code=404, detail=f"unknown order {order_id!r}") from exc
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc

    @router.get("/config")
    async def get_config() -> dict[str, Any]:
        return core.settings.as_json()

    @router.post("/config")
    async def set_config(values: ConfigIn) -> dict[str, Any]:
        core.settings.update(values.model_dump(exclude_unset=True))
        return core.settings.as_json()

    @router.post("/clock")
    async def move_clock(body: ClockIn) -> dict[str, Any]:
        return {"now": core.clock.advance(body.advance_seconds).isoformat()}

    return router
