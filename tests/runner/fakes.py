"""A fake platform for the sync runner: fixed raw records, served like the real client would.

Each page request is recorded (stream, params) so tests can see where a run started. Records
are filtered by the stream's cursor window (its lower/upper parameters), served ``size`` at a
time, and the next page's token (the stream paginator's parameter) is the last record's id,
added to the parameters sent, as the real paginators do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from connectors.http.body import dig
from connectors.model import Page, QueryParams, Stream
from normalizer.context import MappingContext
from scheduler.runner import SyncRunner
from sellerhub import control
from warehouse.tables import Connection


def _instant(value: Any) -> datetime:
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value), UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


class FakePlatform:
    """A ``PageSource``; set ``fail_after`` to raise ``error`` once that many pages were served."""

    def __init__(self, records: dict[str, list[dict[str, Any]]], *, size: int = 2) -> None:
        self.records = records
        self.size = size
        self.requests: list[tuple[str, QueryParams]] = []
        self.fail_after: int | None = None
        self.error: BaseException = ConnectionResetError("connection reset by peer")
        self.served = 0

    def params_of(self, stream: str) -> list[QueryParams]:
        return [params for name, params in self.requests if name == stream]

    def _in_window(self, stream: Stream, params: QueryParams) -> list[dict[str, Any]]:
        records = self.records.get(stream.name, [])
        spec = stream.cursor
        if spec is None:
            return records
        lower = _instant(params[spec.lower_param])
        upper = _instant(params[spec.upper_param]) if spec.upper_param else None
        return [
            r
            for r in records
            if lower <= _instant(dig(r, spec.field))
            and (upper is None or _instant(dig(r, spec.field)) < upper)
        ]

    async def pages(self, stream: Stream, params: QueryParams) -> AsyncIterator[Page]:
        token_param = getattr(stream.paginator, "param", None)
        current = dict(params)
        while True:
            if self.fail_after is not None and self.served >= self.fail_after:
                raise self.error
            self.requests.append((stream.name, dict(current)))
            window = self._in_window(stream, current)
            ids = [str(dig(r, stream.primary_key)) for r in window]
            after = current.get(token_param) if token_param else None
            start = ids.index(str(after)) + 1 if after else 0
            chunk = window[start : start + self.size]
            more = token_param is not None and start + self.size < len(window)
            following = {**current, token_param: ids[start + self.size - 1]} if more else None
            self.served += 1
            yield Page(body={"records": chunk}, records=chunk, next_params=following)
            if following is None:
                return
            current = following


class Clients:
    """A ``ClientProvider`` handing out one fake platform (or raising when opened)."""

    def __init__(self, source: FakePlatform) -> None:
        self.source = source

    @asynccontextmanager
    async def _opened(self) -> AsyncIterator[FakePlatform]:
        yield self.source

    def open(self, connection: Connection) -> Any:
        return self._opened()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def contexts(connection: Connection) -> MappingContext:
    return MappingContext(platform=connection.platform, buyer_hash_key=b"runner-test-key" * 2)


def make_runner(engine: Engine, source: FakePlatform, clock: Callable[[], datetime]) -> SyncRunner:
    return SyncRunner(engine, Clients(source), contexts, clock=clock)


def make_connection(engine: Engine, platform: str, **changes: Any) -> Connection:
    tenant = control.ensure_tenant(engine, "Runner Test Lender")
    seller = control.ensure_seller(engine, tenant.id, "seller-1", "Runner Test Shop")
    connection = control.upsert_connection(
        engine,
        tenant_id=tenant.id,
        seller_id=seller.id,
        platform=platform,
        environment="sandbox",
        region="",
        platform_account_id=f"{platform}-account-1",
        scopes="",
    )
    if changes:
        with Session(engine) as session:
            row = session.get(Connection, connection.id)
            assert row is not None
            for key, value in changes.items():
                setattr(row, key, value)
            session.add(row)
            session.commit()
            session.refresh(row)
            session.expunge(row)
            return row
    return connection
