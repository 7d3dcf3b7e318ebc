"""The consent audit log: who granted, denied or withdrew access, when, where, which scopes.

Rows are only ever added. Reads are confined to one tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from warehouse.connect_tables import ConsentEvent

Action = Literal["granted", "denied", "withdrawn"]
ActorType = Literal["seller", "lender", "operator"]
ACTIONS: tuple[str, ...] = ("granted", "denied", "withdrawn")


@dataclass(frozen=True)
class Actor:
    """Who acted: the seller (id), a lender's API key (key id) or an operator at the CLI."""

    type: ActorType
    id: str


def record(
    engine: Engine,
    *,
    tenant_id: str,
    seller_id: str,
    platform: str,
    action: Action,
    actor: Actor,
    connection_id: str | None = None,
    platform_account_id: str | None = None,
    scopes: str = "",
    data: str = "",
    detail: str = "",
    session: Session | None = None,
) -> None:
    """Add one event; inside ``session`` when given (committed by the caller), else alone."""
    event = ConsentEvent(
        tenant_id=tenant_id,
        seller_id=seller_id,
        connection_id=connection_id,
        platform=platform,
        platform_account_id=platform_account_id,
        action=action,
        scopes=scopes,
        data=data,
        actor_type=actor.type,
        actor_id=actor.id[:64],
        detail=detail,
    )
    if session is not None:
        session.add(event)
        return
    with Session(engine) as own:
        own.add(event)
        own.commit()


def list_events(
    engine: Engine,
    tenant_id: str,
    *,
    seller_id: str | None = None,
    connection_id: str | None = None,
    platform: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> list[ConsentEvent]:
    """The tenant's events, oldest first, after ``after_id`` (keyset pagination)."""
    with Session(engine) as session:
        query = (
            select(ConsentEvent)
            .where(ConsentEvent.tenant_id == tenant_id, col(ConsentEvent.id) > after_id)
            .order_by(col(ConsentEvent.id))
            .limit(limit)
        )
        if seller_id is not None:
            query = query.where(ConsentEvent.seller_id == seller_id)
        if connection_id is not None:
            query = query.where(ConsentEvent.connection_id == connection_id)
        if platform is not None:
            query = query.where(ConsentEvent.platform == platform)
        if action is not None:
            query = query.where(ConsentEvent.action == action)
        if since is not None:
            query = query.where(col(ConsentEvent.created_at) >= since)
        rows = list(session.exec(query).all())
        for row in rows:
            session.expunge(row)
        return rows
