"""Withdrawing consent: disconnect a connection, the tenant's retention policy, and purge.

Disconnecting (by the seller on their connect page, by the lender through the API, by an
operator at the CLI) stops the syncs (status ``disconnected``: the planner only schedules
``active`` connections and the runner refuses the rest), revokes the grant at the platform where
it has an endpoint (Stripe ``/oauth/deauthorize``; Amazon has none, the seller removes the app
in Seller Central: https://developer-docs.amazon.com/sp-api/docs/authorizing-selling-partner-api-applications),
destroys the tokens in the vault, and records the withdrawal.

What happens to the data already synced is the tenant's retention policy: ``keep`` it, or
``delete`` it N days after the disconnect. :func:`purge` deletes what is due: the raw records,
canonical rows, their versions, quarantined records and cursors of the connection (and any
other table keyed by ``connection_id`` except the control and audit tables). The connection row,
its sync history and the consent audit stay.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Engine, Table, delete, update
from sqlmodel import Session, SQLModel, col, select

from connectors.errors import ConnectorError
from sellerhub import consent_log
from sellerhub.backfills import Backfills
from sellerhub.connect import NotFound, find_connection
from sellerhub.consent_log import Actor
from sellerhub.runtime import Runtime
from warehouse.connect_tables import Disconnection, RetentionPolicy
from warehouse.tables import Connection, SyncEvent, table_of, utcnow

log = logging.getLogger(__name__)

Mode = Literal["keep", "delete"]
# tables keyed by connection_id that are not synced data: kept by a purge
KEPT_TABLES = frozenset(
    {"connections", "sync_runs", "sync_events", "consent_events", "disconnections"}
)


@dataclass(frozen=True)
class DisconnectOutcome:
    connection_id: str
    platform: str
    revocation: str  # revoked | not_supported | failed | skipped
    revocation_detail: str | None
    tokens_destroyed: bool
    already: bool = False


@dataclass(frozen=True)
class Policy:
    mode: Mode = "keep"
    delete_after_days: int | None = None

    def due_at(self, disconnected_at: datetime) -> datetime | None:
        if self.mode != "delete" or self.delete_after_days is None:
            return None
        return disconnected_at + timedelta(days=self.delete_after_days)


@dataclass
class PurgeOutcome:
    connection_id: str
    tenant_id: str
    disconnected_at: datetime
    due_at: datetime | None
    purged: bool = False
    deleted: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- disconnect


async def disconnect(
    runtime: Runtime,
    tenant_id: str,
    connection_id: str,
    actor: Actor,
    *,
    backfills: Backfills | None = None,
    seller_id: str | None = None,
) -> DisconnectOutcome:
    """Withdraw one connection of ``tenant_id`` (and of ``seller_id`` when given)."""
    connection = find_connection(runtime.engine, tenant_id, connection_id)
    if connection is None or (seller_id is not None and connection.seller_id != seller_id):
        raise NotFound(f"no connection {connection_id}")
    store = runtime.token_store(connection.id)
    if connection.status == "disconnected":
        # already withdrawn; make sure no token outlived an interrupted earlier attempt
        destroyed = await store.delete()
        return DisconnectOutcome(
            connection.id, connection.platform, "skipped", None, destroyed, already=True
        )
    await asyncio.to_thread(_stop_syncs, runtime.engine, connection.id)
    if backfills is not None:
        await backfills.cancel(connection.id)
    token = await store.load()
    revocation, detail = await _revoke(runtime, connection, token)
    destroyed = await store.delete()
    await asyncio.to_thread(
        _record_withdrawal, runtime.engine, connection, actor, revocation, detail
    )
    return DisconnectOutcome(connection.id, connection.platform, revocation, detail, destroyed)


def _stop_syncs(engine: Engine, connection_id: str) -> None:
    connections = table_of(Connection)
    with Session(engine) as session:
        session.execute(
            update(connections)
            .where(connections.c.id == connection_id)
            .values(status="disconnected", status_reason="consent withdrawn", updated_at=utcnow())
        )
        session.commit()


async def _revoke(
    runtime: Runtime, connection: Connection, token: dict[str, object] | None
) -> tuple[str, str | None]:
    try:
        flow = runtime.oauth_flow(connection.tenant_id, connection.platform, connection.environment)
    except LookupError as error:  # the tenant's app credentials are gone
        return "failed", str(error)
    if not flow.facts.oauth.revoke_url:
        return "not_supported", f"{flow.facts.display_name} has no revocation endpoint"
    grant = {**(token or {})}
    grant.setdefault("account_id", connection.platform_account_id)
    try:
        await flow.revoke(grant)
    except ConnectorError as error:
        log.warning("revoking %s at %s failed: %s", connection.id, connection.platform, error)
        return "failed", str(error)[:500]
    return "revoked", None


def _record_withdrawal(
    engine: Engine, connection: Connection, actor: Actor, revocation: str, detail: str | None
) -> None:
    now = utcnow()
    with Session(engine) as session:
        row = session.get(Disconnection, connection.id)
        if row is None:
            row = Disconnection(
                connection_id=connection.id,
                tenant_id=connection.tenant_id,
                actor_type=actor.type,
                actor_id=actor.id[:64],
                revocation=revocation,
            )
        row.disconnected_at = now
        row.actor_type = actor.type
        row.actor_id = actor.id[:64]
        row.revocation = revocation
        row.revocation_detail = detail
        row.purged_at = None
        session.add(row)
        consent_log.record(
            engine,
            tenant_id=connection.tenant_id,
            seller_id=connection.seller_id,
            platform=connection.platform,
            action="withdrawn",
            actor=actor,
            connection_id=connection.id,
            platform_account_id=connection.platform_account_id,
            scopes=connection.scopes,
            detail=f"revocation: {revocation}" + (f" ({detail})" if detail else ""),
            session=session,
        )
        session.add(
            SyncEvent(
                connection_id=connection.id,
                kind="disconnected",
                message=f"consent withdrawn by {actor.type} {actor.id}; tokens destroyed; "
                f"revocation at the platform: {revocation}",
            )
        )
        session.commit()


# --------------------------------------------------------------------------- retention


def get_policy(engine: Engine, tenant_id: str) -> Policy:
    with Session(engine) as session:
        row = session.get(RetentionPolicy, tenant_id)
    if row is None or row.mode != "delete":
        return Policy()
    return Policy("delete", row.delete_after_days)


def set_policy(engine: Engine, tenant_id: str, mode: Mode, delete_after_days: int | None) -> Policy:
    if mode == "delete" and (delete_after_days is None or delete_after_days < 0):
        raise ValueError("mode 'delete' needs delete_after_days >= 0")
    if mode == "keep":
        delete_after_days = None
    elif mode != "delete":
        raise ValueError("mode must be 'keep' or 'delete'")
    with Session(engine) as session:
        row = session.get(RetentionPolicy, tenant_id) or RetentionPolicy(tenant_id=tenant_id)
        row.mode = mode
        row.delete_after_days = delete_after_days
        row.updated_at = utcnow()
        session.add(row)
        session.commit()
    return Policy(mode, delete_after_days)


# --------------------------------------------------------------------------- purge


def data_tables() -> list[Table]:
    """Tables holding a connection's synced data, dependents first."""
    tables = [
        table
        for table in reversed(SQLModel.metadata.sorted_tables)
        if "connection_id" in table.c and table.name not in KEPT_TABLES
    ]
    return tables


def purge(
    engine: Engine,
    *,
    now: datetime | None = None,
    tenant_id: str | None = None,
    connection_id: str | None = None,
    dry_run: bool = False,
) -> list[PurgeOutcome]:
    """Delete the synced data of disconnected connections whose retention has run out.

    Every disconnected, not yet purged connection (of ``tenant_id``, or just ``connection_id``)
    is reported with when its data is due; those due are purged unless ``dry_run``.
    """
    moment = now or utcnow()
    with Session(engine) as session:
        query = (
            select(Disconnection, Connection)
            .join(Connection, col(Connection.id) == col(Disconnection.connection_id))
            .where(Connection.status == "disconnected", col(Disconnection.purged_at).is_(None))
            .order_by(col(Disconnection.disconnected_at))
        )
        if tenant_id is not None:
            query = query.where(Disconnection.tenant_id == tenant_id)
        if connection_id is not None:
            query = query.where(Disconnection.connection_id == connection_id)
        candidates = [
            (d.connection_id, d.tenant_id, d.disconnected_at) for d, _ in session.exec(query)
        ]
    outcomes = []
    for cid, tid, disconnected_at in candidates:
        due_at = get_policy(engine, tid).due_at(disconnected_at)
        outcome = PurgeOutcome(cid, tid, disconnected_at, due_at)
        if due_at is not None and due_at <= moment and not dry_run:
            outcome.deleted = _purge_one(engine, cid, moment)
            outcome.purged = True
            _refresh_metrics(engine, cid)
        outcomes.append(outcome)
    return outcomes


def _refresh_metrics(engine: Engine, connection_id: str) -> None:
    """Daily metrics are derived per seller from the canonical rows: recompute the seller's, so
    figures built on the deleted rows go too (a failure leaves them for the next rebuild)."""
    from warehouse import metrics

    with Session(engine) as session:
        connection = session.get(Connection, connection_id)
        if connection is None:
            return
        tenant_id, seller_id = connection.tenant_id, connection.seller_id
    try:
        metrics.rebuild(engine, tenant_id=tenant_id, seller_id=seller_id)
    except Exception:
        log.exception("daily metrics of seller %s not rebuilt after a purge", seller_id)


def _purge_one(engine: Engine, connection_id: str, now: datetime) -> dict[str, int]:
    deleted: dict[str, int] = {}
    with Session(engine) as session:
        # still disconnected (a seller may have reconnected since the candidates were read)
        connection = session.get(Connection, connection_id, with_for_update=True)
        if connection is None or connection.status != "disconnected":
            return deleted
        for table in data_tables():
            result = session.connection().execute(
                delete(table).where(table.c.connection_id == connection_id)
            )
            if result.rowcount:
                deleted[table.name] = int(result.rowcount)
        row = session.get(Disconnection, connection_id)
        if row is not None:
            row.purged_at = now
            session.add(row)
        total = sum(deleted.values())
        session.add(
            SyncEvent(
                connection_id=connection_id,
                kind="purged",
                message=f"synced data deleted by retention policy: {total} rows",
            )
        )
        session.commit()
    return deleted
