"""Tenants, sellers and connections: the control-plane rows, created and looked up."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from warehouse.mapping_state import current_mapping_version
from warehouse.tables import Connection, Seller, SyncEvent, Tenant, utcnow


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def ensure_tenant(engine: Engine, name: str, reporting_currency: str = "USD") -> Tenant:
    with Session(engine) as session:
        tenant = session.exec(select(Tenant).where(Tenant.name == name)).first()
        if tenant is None:
            tenant = Tenant(id=new_id("ten"), name=name, reporting_currency=reporting_currency)
            session.add(tenant)
            session.commit()
            session.refresh(tenant)
        session.expunge(tenant)
        return tenant


def ensure_seller(engine: Engine, tenant_id: str, reference: str, name: str) -> Seller:
    with Session(engine) as session:
        seller = session.exec(
            select(Seller).where(Seller.tenant_id == tenant_id, Seller.reference == reference)
        ).first()
        if seller is None:
            seller = Seller(id=new_id("sel"), tenant_id=tenant_id, reference=reference, name=name)
            session.add(seller)
            session.commit()
            session.refresh(seller)
        session.expunge(seller)
        return seller


def list_sellers(engine: Engine, tenant_id: str | None = None) -> list[Seller]:
    with Session(engine) as session:
        query = select(Seller).order_by(col(Seller.created_at), col(Seller.reference))
        if tenant_id is not None:
            query = query.where(Seller.tenant_id == tenant_id)
        rows = list(session.exec(query).all())
        for row in rows:
            session.expunge(row)
        return rows


def list_connections(
    engine: Engine,
    *,
    tenant_id: str | None = None,
    seller_id: str | None = None,
    statuses: Sequence[str] | None = None,
) -> list[Connection]:
    with Session(engine) as session:
        query = select(Connection).order_by(col(Connection.created_at), col(Connection.platform))
        if tenant_id is not None:
            query = query.where(Connection.tenant_id == tenant_id)
        if seller_id is not None:
            query = query.where(Connection.seller_id == seller_id)
        if statuses is not None:
            query = query.where(col(Connection.status).in_(list(statuses)))
        rows = list(session.exec(query).all())
        for row in rows:
            session.expunge(row)
        return rows


def upsert_connection(
    engine: Engine,
    *,
    tenant_id: str,
    seller_id: str,
    platform: str,
    environment: str,
    region: str,
    platform_account_id: str,
    scopes: str,
) -> Connection:
    """A new consent creates the connection, or re-activates the one that exists (no token
    involved; the OAuth callback stores the token between the two steps below)."""
    pending = consenting_connection(
        engine,
        tenant_id=tenant_id,
        seller_id=seller_id,
        platform=platform,
        environment=environment,
        region=region,
        platform_account_id=platform_account_id,
    )
    return activate_connection(engine, pending.id, seller_id=seller_id, scopes=scopes)


CONNECTING = "connecting"


def consenting_connection(
    engine: Engine,
    *,
    tenant_id: str,
    seller_id: str,
    platform: str,
    environment: str,
    region: str,
    platform_account_id: str,
) -> Connection:
    """The connection a consent is about to (re)activate, before its token is stored.

    An existing connection is returned as it is: it keeps its status (say, reauth_required)
    until ``activate_connection``, so a crash before the new token is stored never leaves it
    active with the old token. A new one is created in status ``connecting``, which no sync,
    scheduler or seller page picks up; the next attempt finds and completes it.
    """
    with Session(engine) as session:
        connection = session.exec(
            select(Connection).where(
                Connection.tenant_id == tenant_id,
                Connection.platform == platform,
                Connection.platform_account_id == platform_account_id,
                Connection.region == region,
            )
        ).first()
        if connection is None:
            connection = Connection(
                id=new_id("con"),
                tenant_id=tenant_id,
                seller_id=seller_id,
                platform=platform,
                environment=environment,
                region=region,
                platform_account_id=platform_account_id,
                status=CONNECTING,
                status_reason="waiting for its token",
                mapping_version=current_mapping_version(platform),
            )
            session.add(connection)
            session.commit()
            session.refresh(connection)
        session.expunge(connection)
        return connection


def activate_connection(
    engine: Engine, connection_id: str, *, seller_id: str, scopes: str
) -> Connection:
    """Once the token is stored: the connection is active, with the consent in its events."""
    with Session(engine) as session:
        connection = session.get(Connection, connection_id)
        if connection is None:
            raise LookupError(f"no connection {connection_id}")
        kind = "connected" if connection.status == CONNECTING else "reconnected"
        now = utcnow()
        connection.seller_id = seller_id
        connection.status = "active"
        connection.status_reason = None
        connection.scopes = scopes
        connection.consented_at = now
        connection.updated_at = now
        session.add(connection)
        session.add(
            SyncEvent(
                connection_id=connection.id,
                kind=kind,
                message=f"seller consented to {connection.platform} ({scopes or 'default scopes'})",
            )
        )
        session.commit()
        session.refresh(connection)
        session.expunge(connection)
        return connection
