"""A saved page token that the platform no longer accepts: the window is read again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, select

from connectors.errors import RequestRejected
from connectors.model import Page, QueryParams, Stream
from connectors.registry import get_connector
from normalizer.context import MappingContext
from scheduler import windows
from scheduler.runner import SyncRunner
from sellerhub import control
from warehouse.tables import OrderRow, SyncState
from warehouse.writer import StreamStateUpdate, save_state

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _charge(charge_id: str, created: int) -> dict[str, object]:
    return {
        "id": charge_id,
        "object": "charge",
        "amount": 1500,
        "amount_refunded": 0,
        "currency": "usd",
        "created": created,
        "status": "succeeded",
        "paid": True,
        "captured": True,
        "refunded": False,
        "billing_details": {"address": {"country": "US"}, "email": None},
    }


class ExpiringTokenSource:
    """Refuses the stale token; otherwise serves two records on one page."""

    def __init__(self) -> None:
        self.calls: list[QueryParams] = []

    async def pages(self, stream: Stream, params: QueryParams) -> AsyncIterator[Page]:
        self.calls.append(dict(params))
        if params.get("starting_after") == "ch_stale":
            raise RequestRejected("stripe charges: HTTP 400: No such object: 'ch_stale'")
        created = int(NOW.timestamp()) - 3600
        yield Page(
            body={}, records=[_charge("ch_a", created), _charge("ch_b", created)], next_params=None
        )


async def test_a_refused_saved_token_rereads_the_window(engine: Engine) -> None:
    tenant = control.ensure_tenant(engine, "t")
    seller = control.ensure_seller(engine, tenant.id, "s", "S")
    connection = control.upsert_connection(
        engine,
        tenant_id=tenant.id,
        seller_id=seller.id,
        platform="stripe",
        environment="sandbox",
        region="",
        platform_account_id="acct_x",
        scopes="read_only",
    )
    pending = windows.Progress(
        datetime(2026, 11, 1, tzinfo=UTC), NOW, {"starting_after": "ch_stale"}
    ).to_json()
    with engine.begin() as conn:
        save_state(conn, connection.id, "charges", StreamStateUpdate(cursor=None, pending=pending))
    source = ExpiringTokenSource()
    connector = get_connector("stripe")
    runner = SyncRunner(engine, clients=None, contexts=None, clock=lambda: NOW)  # type: ignore[arg-type]
    result = await runner.sync_stream(
        connection,
        connector,
        connector.stream("charges"),
        source,
        MappingContext(platform="stripe", buyer_hash_key=b"k"),
    )
    assert result.status == "succeeded", result.error
    assert [c.get("starting_after") for c in source.calls] == ["ch_stale", None]
    with Session(engine) as session:
        assert {o.external_id for o in session.exec(select(OrderRow)).all()} == {"ch_a", "ch_b"}
        state = session.get(SyncState, (connection.id, "charges"))
    assert state is not None and state.pending is None
    assert state.cursor == windows.format_instant(NOW)
