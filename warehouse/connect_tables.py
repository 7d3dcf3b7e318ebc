"""Tables of the seller connect flow: tenant apps, connect attempts, consent audit, retention.

* ``tenant_apps``: how a tenant's app at a platform is used (environment, Amazon draft app);
  the client id and secret themselves live in the vault.
* ``connect_attempts``: an authorization started from a seller's connect page, tied to its
  ``oauth_states`` row and to the browser that started it (a hash of a cookie nonce), so the
  callback can send the seller back to their page, and only in that browser.
* ``consent_events``: the audit log: who granted, denied or withdrew access, when, to which
  platform, with which scopes.
* ``disconnections``: when and by whom a connection was withdrawn, what the platform said to
  the revocation, and when its synced data was purged.
* ``retention_policies``: per tenant, keep synced data after a disconnect, or delete it after
  N days.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from warehouse.tables import utcnow


class TenantApp(SQLModel, table=True):
    __tablename__ = "tenant_apps"
    tenant_id: str = Field(foreign_key="tenants.id", primary_key=True, max_length=64)
    platform: str = Field(primary_key=True, max_length=32)
    client_id: str = Field(max_length=255)  # public; the secret is only in the vault
    environment: str = Field(default="production", max_length=16)  # production | sandbox
    draft_app: bool = False  # Amazon: the app is still in draft (consent needs version=beta)
    app_id: str | None = Field(default=None, max_length=255)  # Amazon SP-API application id
    updated_at: datetime = Field(default_factory=utcnow)


class ConnectAttempt(SQLModel, table=True):
    __tablename__ = "connect_attempts"
    state: str = Field(foreign_key="oauth_states.state", primary_key=True, max_length=128)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    seller_id: str = Field(foreign_key="sellers.id", max_length=64)
    platform: str = Field(max_length=32)
    # the connect link the seller came from (re-signed on return; the link itself is not kept)
    link_expires_at: datetime
    link_platforms: str = ""  # space-separated; "" = every platform the tenant offers
    browser_binding: str = Field(max_length=64)  # SHA-256 hex of the browser's cookie nonce
    created_at: datetime = Field(default_factory=utcnow)


class ConsentEvent(SQLModel, table=True):
    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_events_tenant", "tenant_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    seller_id: str = Field(foreign_key="sellers.id", max_length=64)
    connection_id: str | None = Field(default=None, foreign_key="connections.id", max_length=64)
    platform: str = Field(max_length=32)
    platform_account_id: str | None = Field(default=None, max_length=128)
    action: str = Field(max_length=16)  # granted | denied | withdrawn
    scopes: str = ""  # OAuth scopes granted or requested ("" where the platform has none)
    data: str = ""  # what the seller was told would be read (catalog item keys)
    actor_type: str = Field(max_length=16)  # seller | lender | operator
    actor_id: str = Field(max_length=64)  # seller id, API key id, or the operator's name
    detail: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class Disconnection(SQLModel, table=True):
    __tablename__ = "disconnections"
    connection_id: str = Field(foreign_key="connections.id", primary_key=True, max_length=64)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=64)
    disconnected_at: datetime = Field(default_factory=utcnow)
    actor_type: str = Field(max_length=16)
    actor_id: str = Field(max_length=64)
    revocation: str = Field(max_length=16)  # revoked | not_supported | failed
    revocation_detail: str | None = None
    purged_at: datetime | None = None


class RetentionPolicy(SQLModel, table=True):
    __tablename__ = "retention_policies"
    tenant_id: str = Field(foreign_key="tenants.id", primary_key=True, max_length=64)
    mode: str = Field(default="keep", max_length=16)  # keep | delete
    delete_after_days: int | None = None  # with mode "delete": days after the disconnect
    updated_at: datetime = Field(default_factory=utcnow)
