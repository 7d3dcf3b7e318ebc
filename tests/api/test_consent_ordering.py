"""The OAuth callback's last steps in order: connection row, token, then active. A token that
cannot be stored leaves no active connection (a new one waits in ``connecting``; an existing one
keeps its status), and the next attempt completes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from sellerhub import control
from sellerhub.onboarding import _complete_claimed
from tests.scoring.helpers import make_scope
from warehouse.tables import Connection, OAuthState, SyncEvent, utcnow

ACCOUNT = "acct_ordering"


@dataclass
class _Flow:
    """A code exchange that succeeds (the platform's side is not what is tested here)."""

    @dataclass
    class facts:  # mirrors the attribute path flow.facts.oauth.scopes
        @dataclass
        class oauth:
            scopes = ("read_only",)

    async def exchange_code(self, params: Any, **_: Any) -> dict[str, Any]:
        return {"access_token": "at-new", "refresh_token": "rt-new", "account_id": ACCOUNT}


@dataclass
class _Store:
    saved: dict[str, dict[str, Any]]
    connection_id: str
    broken: bool

    async def save(self, token: dict[str, Any]) -> None:
        if self.broken:
            raise RuntimeError("vault unavailable")
        self.saved[self.connection_id] = token


@dataclass
class _Runtime:
    engine: Engine
    vault_down: bool = False
    saved: dict[str, dict[str, Any]] = field(default_factory=dict)

    def oauth_flow(self, *_: Any) -> _Flow:
        return _Flow()

    def token_store(self, connection_id: str) -> _Store:
        return _Store(self.saved, connection_id, self.vault_down)


async def _complete(runtime: _Runtime, tenant_id: str, seller_id: str) -> Connection:
    """The callback's steps after its state was claimed, with a code the platform accepts."""
    pending = _pending(tenant_id, seller_id)
    return await _complete_claimed(runtime, "stripe", {"code": "c"}, pending)  # type: ignore[arg-type]


def _pending(tenant_id: str, seller_id: str) -> OAuthState:
    return OAuthState(
        state="s" * 43,
        tenant_id=tenant_id,
        seller_id=seller_id,
        platform="stripe",
        environment="sandbox",
        redirect_uri="http://127.0.0.1/oauth/callback/stripe",
        expires_at=utcnow() + timedelta(minutes=10),
    )


def _connection(engine: Engine, tenant_id: str) -> Connection | None:
    with Session(engine) as session:
        return session.exec(
            select(Connection).where(
                Connection.tenant_id == tenant_id, Connection.platform_account_id == ACCOUNT
            )
        ).first()


def _events(engine: Engine, connection_id: str) -> list[str]:
    with Session(engine) as session:
        return [
            event.kind
            for event in session.exec(
                select(SyncEvent)
                .where(SyncEvent.connection_id == connection_id)
                .order_by(col(SyncEvent.id))
            )
        ]


async def test_a_new_connection_is_active_only_once_its_token_is_stored(engine: Engine) -> None:
    tenant = control.ensure_tenant(engine, "Ordering lender")
    seller = control.ensure_seller(engine, tenant.id, "s-order", "Seller")
    runtime = _Runtime(engine, vault_down=True)

    with pytest.raises(RuntimeError, match="vault unavailable"):
        await _complete(runtime, tenant.id, seller.id)

    waiting = _connection(engine, tenant.id)
    assert waiting is not None and waiting.status == "connecting"
    assert waiting.id not in {c.id for c in control.list_connections(engine, statuses=["active"])}
    assert _events(engine, waiting.id) == []  # no consent is recorded without its token

    runtime.vault_down = False
    connected = await _complete(runtime, tenant.id, seller.id)
    assert connected.id == waiting.id and connected.status == "active"
    assert runtime.saved[connected.id]["access_token"] == "at-new"
    assert _events(engine, connected.id) == ["connected"]


async def test_a_reconnect_whose_token_is_not_stored_keeps_the_old_status(engine: Engine) -> None:
    existing = make_scope(
        engine, "stripe", tenant="Reconnect lender", seller="s-again", account=ACCOUNT
    )
    with Session(engine) as session:
        row = session.get(Connection, existing.connection_id)
        assert row is not None
        row.status, row.status_reason = "reauth_required", "refresh token revoked"
        session.add(row)
        session.commit()
    runtime = _Runtime(engine, vault_down=True)

    with pytest.raises(RuntimeError):
        await _complete(runtime, existing.tenant_id, existing.seller_id)

    after = _connection(engine, existing.tenant_id)
    assert after is not None
    assert (after.status, after.status_reason) == ("reauth_required", "refresh token revoked")

    runtime.vault_down = False
    await _complete(runtime, existing.tenant_id, existing.seller_id)
    again = _connection(engine, existing.tenant_id)
    assert again is not None and again.status == "active" and again.status_reason is None
    assert _events(engine, existing.connection_id) == ["connected", "reconnected"]
