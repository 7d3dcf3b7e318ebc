"""The sync runner with a fake page source and the real warehouse (SQLite and PostgreSQL).

What a run leaves behind is checked in the tables: canonical rows, quarantine, the stream's
cursor and pending progress, the run record and the connection's status.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from sqlmodel import select as select_rows

from connectors.errors import ReauthorizationRequired, RetryableError
from connectors.registry import get_connector
from normalizer.registry import MAPPING_VERSION
from scheduler import windows
from warehouse.queries import summarize
from warehouse.tables import (
    Connection,
    OrderRow,
    QuarantinedRecord,
    SyncEvent,
    SyncRun,
    SyncState,
    TransactionRow,
    table_of,
)

from .fakes import Clock, FakePlatform, make_connection, make_runner

T0 = datetime(2026, 3, 10, 12, 0, 0, tzinfo=UTC)
CHARGES = get_connector("stripe").stream("charges")
AMAZON_TRANSACTIONS = get_connector("amazon").stream("transactions")


def charge(charge_id: str, created: datetime, amount: Any = 1000, **extra: Any) -> dict[str, Any]:
    """A Stripe charge as the client hands it over (JSON parsed with parse_float=Decimal)."""
    record = {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_refunded": 0,
        "captured": True,
        "created": int(created.timestamp()),
        "currency": "usd",
        "status": "succeeded",
        "billing_details": {"email": f"{charge_id}@buyer.example", "address": {"country": "US"}},
        **extra,
    }
    if amount is None:
        del record["amount"]
    return record


def fee(transaction_id: str, posted: datetime, amount: str = "-39.99") -> dict[str, Any]:
    """An Amazon finances (2024-06-19) service-fee transaction; amounts are JSON numbers."""
    return {
        "transactionId": transaction_id,
        "transactionType": "ServiceFee",
        "transactionStatus": "RELEASED",
        "description": "Subscription",
        "postedDate": posted.isoformat().replace("+00:00", "Z"),
        "totalAmount": {"currencyAmount": Decimal(amount), "currencyCode": "USD"},
    }


def state_of(engine: Engine, connection_id: str, stream: str) -> SyncState:
    with Session(engine) as session:
        state = session.get(SyncState, (connection_id, stream))
        assert state is not None
        session.expunge(state)
        return state


def run_row(engine: Engine, run_id: int) -> SyncRun:
    with Session(engine) as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        session.expunge(run)
        return run


def external_ids(engine: Engine, model: Any, connection_id: str) -> list[str]:
    table = table_of(model)
    with Session(engine) as session:
        return sorted(
            session.execute(
                select(table.c.external_id).where(table.c.connection_id == connection_id)
            ).scalars()
        )


def quarantine_of(engine: Engine, connection_id: str) -> list[QuarantinedRecord]:
    with Session(engine) as session:
        rows = list(
            session.exec(
                select_rows(QuarantinedRecord).where(
                    QuarantinedRecord.connection_id == connection_id
                )
            ).all()
        )
        for row in rows:
            session.expunge(row)
        return rows


# ---------------------------------------------------------------------------- quarantine


@pytest.mark.parametrize(
    ("bad_amount", "reason_part"),
    [(Decimal("12.5"), "amount"), (None, "amount")],
    ids=["fractional-amount", "missing-amount"],
)
async def test_malformed_record_is_quarantined_and_the_rest_of_the_page_lands(
    engine: Engine, bad_amount: Any, reason_part: str
) -> None:
    connection = make_connection(engine, "stripe")
    created = T0 - timedelta(days=1)
    source = FakePlatform(
        {
            "charges": [
                charge("ch_a", created, 1500),
                charge("ch_bad", created, bad_amount),
                charge("ch_b", created, 2500),
                charge("ch_c", created, 99),
            ]
        },
        size=10,
    )
    runner = make_runner(engine, source, Clock(T0))

    (result,) = await runner.sync_connection(connection.id, streams=["charges"])

    assert result.status == "succeeded", result.error
    assert result.quarantined == 1
    assert result.pages == 1
    assert external_ids(engine, OrderRow, connection.id) == ["ch_a", "ch_b", "ch_c"]
    (item,) = quarantine_of(engine, connection.id)
    assert (item.external_id, item.stream, item.run_id) == ("ch_bad", "charges", result.run_id)
    assert reason_part in item.reason
    assert item.payload["id"] == "ch_bad"
    assert "ch_bad@buyer.example" not in str(item.payload)  # kept without buyer PII
    state = state_of(engine, connection.id, "charges")
    assert state.cursor == windows.format_instant(T0) and state.pending is None
    assert summarize(engine, connection).quarantined == 1


# ---------------------------------------------------------------------------- failures


async def test_revoked_grant_stops_the_connection_until_the_seller_reauthorizes(
    engine: Engine,
) -> None:
    connection = make_connection(engine, "stripe")
    source = FakePlatform({"account": [{"id": "acct_1", "object": "account"}]})
    reason = "Stripe rejected a freshly refreshed access token (HTTP 401); authorize again"
    source.fail_after = 0
    source.error = ReauthorizationRequired(reason, status_code=401)
    runner = make_runner(engine, source, Clock(T0))

    results = await runner.sync_connection(connection.id)

    # the first stream hit the revoked grant; the others were not attempted
    assert [(r.stream, r.status, r.action, r.fault) for r in results] == [
        ("account", "failed", "reauthorize", "seller")
    ]
    run = run_row(engine, results[0].run_id)
    assert (run.status, run.error_action, run.error_fault) == ("failed", "reauthorize", "seller")
    assert run.error == reason and run.finished_at is not None
    with Session(engine) as session:
        row = session.get(Connection, connection.id)
        assert row is not None
        assert (row.status, row.status_reason) == ("reauth_required", reason)
        events = session.exec(
            select_rows(SyncEvent)
            .where(SyncEvent.connection_id == connection.id)
            .order_by(col(SyncEvent.id))
        ).all()
        assert [(e.kind, e.message) for e in events][-1] == ("reauth_required", reason)
    assert summarize(engine, row).health == "reauth_required"
    # no further syncs until the seller consents again
    with pytest.raises(Exception, match="reauth_required"):
        await runner.sync_connection(connection.id)


async def test_unexpected_error_fails_the_run_as_ours_without_a_traceback(engine: Engine) -> None:
    connection = make_connection(engine, "stripe")
    source = FakePlatform({"charges": [charge("ch_1", T0 - timedelta(hours=1))]})
    source.fail_after = 0
    source.error = KeyError("data")
    runner = make_runner(engine, source, Clock(T0))

    (result,) = await runner.sync_connection(connection.id, streams=["charges"])

    assert (result.status, result.action, result.fault) == ("failed", "fail_run", "ours")
    run = run_row(engine, result.run_id)
    assert run.error is not None
    assert "KeyError" in run.error
    assert "Traceback" not in run.error and 'File "' not in run.error and "\n" not in run.error
    assert (run.error_action, run.error_fault) == ("fail_run", "ours")
    # the stream never moved, and the connection itself stays active (ours to fix)
    with Session(engine) as session:
        assert session.get(SyncState, (connection.id, "charges")) is None
        row = session.get(Connection, connection.id)
        assert row is not None and row.status == "active"
    assert summarize(engine, row).health == "failing"


async def test_one_failing_stream_does_not_stop_the_others(engine: Engine) -> None:
    connection = make_connection(engine, "stripe")
    created = T0 - timedelta(hours=1)
    source = FakePlatform({"charges": [charge("ch_1", created)], "refunds": []})

    class FailingCharges(FakePlatform):
        async def pages(self, stream: Any, params: Any) -> Any:
            if stream.name == "charges":
                raise RuntimeError("boom")
            async for page in super().pages(stream, params):
                yield page

    failing = FailingCharges(source.records)
    runner = make_runner(engine, failing, Clock(T0))

    results = await runner.sync_connection(connection.id, streams=["charges", "refunds"])

    assert [(r.stream, r.status) for r in results] == [
        ("charges", "failed"),
        ("refunds", "succeeded"),
    ]


# ---------------------------------------------------------------------------- resume


async def test_interrupted_run_resumes_from_the_stored_page(engine: Engine) -> None:
    connection = make_connection(engine, "stripe")
    lookback = CHARGES.cursor.lookback if CHARGES.cursor else timedelta(0)
    first = [charge(f"ch_old_{i}", T0 - timedelta(days=2, minutes=i)) for i in range(3)]
    source = FakePlatform({"charges": first}, size=2)
    clock = Clock(T0)
    runner = make_runner(engine, source, clock)

    (done,) = await runner.sync_connection(connection.id, streams=["charges"])
    assert done.status == "succeeded" and done.pages == 2
    assert state_of(engine, connection.id, "charges").cursor == windows.format_instant(T0)

    # six new charges (three pages); the connection drops after two pages
    new = [charge(f"ch_new_{i}", T0 + timedelta(minutes=10 + i)) for i in range(6)]
    source.records["charges"] = first + new
    source.requests.clear()
    source.served = 0
    source.fail_after = 2
    source.error = RetryableError("Stripe: connection reset after retries")
    t1 = T0 + timedelta(hours=1)
    clock.now = t1

    (cut,) = await runner.sync_connection(connection.id, streams=["charges"])

    assert cut.status == "failed" and cut.pages == 2
    state = state_of(engine, connection.id, "charges")
    assert state.cursor == windows.format_instant(T0)  # not moved past unread data
    assert state.pending is not None
    window = source.params_of("charges")[0]
    assert window["created[gte]"] == str(int((T0 - lookback).timestamp()))
    assert window["created[lt]"] == str(int(t1.timestamp()))
    last_read = source.params_of("charges")[-1]
    pending = windows.Progress.from_json(state.pending)
    assert (pending.window_start, pending.until) == (T0 - lookback, t1)
    # where the third page starts: after the last record of the second page
    expected_resume = {"starting_after": source_page_tail(source, last_read)}
    assert pending.resume == expected_resume
    landed_before = external_ids(engine, OrderRow, connection.id)

    source.requests.clear()
    source.fail_after = None
    clock.now = t1 + timedelta(hours=1)

    (resumed,) = await runner.sync_connection(connection.id, streams=["charges"])

    assert resumed.status == "succeeded", resumed.error
    resumed_params = source.params_of("charges")
    assert resumed_params[0] == {**window, **expected_resume}  # same window, from the stored page
    # nothing before the stored page is read again: the window's records less the first two pages
    assert all("starting_after" in params for params in resumed_params)
    assert resumed.records == len(source._in_window(CHARGES, window)) - 2 * source.size
    state = state_of(engine, connection.id, "charges")
    assert state.cursor == windows.format_instant(t1)  # moved forward, to the resumed run's end
    assert state.pending is None
    all_ids = sorted(str(r["id"]) for r in first + new)
    assert external_ids(engine, OrderRow, connection.id) == all_ids
    assert set(landed_before) < set(all_ids)

    # the next run is a fresh one from the new cursor, not another resume
    source.requests.clear()
    (following,) = await runner.sync_connection(connection.id, streams=["charges"])
    assert following.status == "succeeded"
    fresh = source.params_of("charges")[0]
    assert "starting_after" not in fresh
    assert fresh["created[gte]"] == str(int((t1 - lookback).timestamp()))


def source_page_tail(source: FakePlatform, params: dict[str, Any]) -> str:
    """The id of the last record served for the page requested with ``params``."""
    window = source._in_window(CHARGES, params)
    ids = [str(r["id"]) for r in window]
    after = params.get("starting_after")
    start = ids.index(str(after)) + 1 if after else 0
    return ids[start : start + source.size][-1]


async def test_interrupted_multi_window_run_resumes_in_the_window_it_stopped(
    engine: Engine,
) -> None:
    """Amazon finances are read in windows of at most 180 days; a resume continues inside the
    window that was being read and then reads the remaining windows."""
    spec = AMAZON_TRANSACTIONS.cursor
    assert spec is not None and spec.max_window is not None
    connection = make_connection(engine, "amazon", marketplace_ids=["ATVPDKIKX0DER"])
    now = T0
    until = (now - spec.end_lag).replace(microsecond=0)
    start = now - spec.backfill
    # three fees in each 180-day window of the two-year backfill
    edges = []
    edge = start
    while edge < until:
        edges.append(edge)
        edge = min(edge + spec.max_window, until)
    records = [
        fee(f"T-{w}-{i}", window_start + timedelta(days=1, hours=i))
        for w, window_start in enumerate(edges)
        for i in range(3)
    ]
    source = FakePlatform({"transactions": records}, size=2)
    source.fail_after = 3  # window 0: pages 1-2; window 1: page 1, then the cut
    clock = Clock(now)
    runner = make_runner(engine, source, clock)

    (cut,) = await runner.sync_connection(connection.id, streams=["transactions"])

    assert cut.status == "failed"
    state = state_of(engine, connection.id, "transactions")
    assert state.cursor is None
    assert state.pending is not None
    pending = windows.Progress.from_json(state.pending)
    assert pending.window_start == edges[1]
    assert pending.resume == {"nextToken": "T-1-1"}

    source.requests.clear()
    source.fail_after = None
    clock.now = now + timedelta(hours=1)

    (resumed,) = await runner.sync_connection(connection.id, streams=["transactions"])

    assert resumed.status == "succeeded", resumed.error
    sent = source.params_of("transactions")
    assert sent[0]["postedAfter"] == windows.format_instant(edges[1])
    assert sent[0]["nextToken"] == "T-1-1"
    later_windows = [p["postedAfter"] for p in sent[1:] if "nextToken" not in p]
    assert later_windows == [windows.format_instant(e) for e in edges[2:]]
    assert external_ids(engine, TransactionRow, connection.id) == sorted(
        r["transactionId"] for r in records
    )
    state = state_of(engine, connection.id, "transactions")
    assert state.cursor == windows.format_instant(until) and state.pending is None


# ---------------------------------------------------------------------------- mapping version


async def test_a_sync_of_rows_from_an_older_mapping_warns_and_writes_the_current_one(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    current = MAPPING_VERSION["stripe"]
    connection = make_connection(engine, "stripe", mapping_version=current - 1)
    source = FakePlatform({"charges": [charge("ch_a", T0 - timedelta(days=1))]}, size=10)
    runner = make_runner(engine, source, Clock(T0))
    with caplog.at_level(logging.WARNING, logger="scheduler.runner"):
        (result,) = await runner.sync_connection(connection.id, streams=["charges"])
    assert result.status == "succeeded", result.error
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        connection.id in w and f"v{current - 1}" in w and "sellerhub renormalize" in w
        for w in warnings
    ), warnings
    orders = table_of(OrderRow)
    with Session(engine) as session:
        versions = session.execute(
            select(orders.c.mapping_version).where(orders.c.connection_id == connection.id)
        ).scalars()
        assert list(versions) == [current]  # the fetched page itself is mapped as of now
