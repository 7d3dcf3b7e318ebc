"""Consent lifetime: Amazon's 365 days, a warning N days ahead, health and one event each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from scheduler.runner import SyncRunner
from sellerhub import control
from tests.runner.fakes import Clients, FakePlatform, contexts, make_connection
from warehouse.consent import (
    CONSENT_WARNING_ENV,
    consent_state,
    note_consent,
    warning_days,
)
from warehouse.queries import stream_health, summarize
from warehouse.tables import Connection, SyncEvent, SyncRun

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)


def consented(platform: str, days_ago: float) -> Connection:
    return Connection(
        id="con_test",
        tenant_id="ten_x",
        seller_id="sel_x",
        platform=platform,
        platform_account_id="acct",
        consented_at=NOW - timedelta(days=days_ago),
    )


@pytest.mark.parametrize(
    ("days_ago", "level"),
    [(0, "ok"), (334, "ok"), (336, "expiring"), (364.9, "expiring"), (365, "expired")],
)
def test_amazon_consent_runs_365_days_with_30_days_warning(days_ago: float, level: str) -> None:
    state = consent_state(consented("amazon", days_ago), now=NOW, warn_days=30)
    assert state.level == level
    assert state.expires_at == NOW - timedelta(days=days_ago) + timedelta(days=365)


def test_a_platform_without_a_consent_lifetime_never_expires() -> None:
    assert consent_state(consented("stripe", 5000), now=NOW).level == "unlimited"


def test_the_warning_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONSENT_WARNING_ENV, raising=False)
    assert warning_days() == 30
    monkeypatch.setenv(CONSENT_WARNING_ENV, "10")
    assert consent_state(consented("amazon", 350), now=NOW).level == "ok"  # 15 days left
    assert consent_state(consented("amazon", 356), now=NOW).level == "expiring"  # 9 days left
    for bad in ("soon", "-1"):
        monkeypatch.setenv(CONSENT_WARNING_ENV, bad)
        with pytest.raises(ValueError, match=CONSENT_WARNING_ENV):
            warning_days()


def _age(engine: Engine, connection: Connection, days: float, now: datetime) -> Connection:
    with Session(engine) as session:
        row = session.get(Connection, connection.id)
        assert row is not None
        row.consented_at = now - timedelta(days=days)
        session.add(row)
        session.commit()
        session.refresh(row)
        session.expunge(row)
        return row


def _succeeded(engine: Engine, connection: Connection, finished: datetime) -> None:
    with Session(engine) as session:
        session.add(
            SyncRun(
                connection_id=connection.id,
                stream="account",
                status="succeeded",
                started_at=finished,
                finished_at=finished,
            )
        )
        session.commit()


def _failed(engine: Engine, connection: Connection, finished: datetime) -> None:
    with Session(engine) as session:
        session.add(
            SyncRun(
                connection_id=connection.id,
                stream="orders",
                status="failed",
                error="Amazon: HTTP 500",
                started_at=finished,
                finished_at=finished,
            )
        )
        session.commit()


def _events(engine: Engine, connection_id: str, kind: str) -> list[SyncEvent]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(SyncEvent)
                .where(SyncEvent.connection_id == connection_id, SyncEvent.kind == kind)
                .order_by(col(SyncEvent.id))
            ).all()
        )


def test_health_shows_the_consent_coming_due_and_then_expired(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    now = datetime.now(UTC)
    connection = make_connection(engine, "amazon")
    _succeeded(engine, connection, now - timedelta(minutes=5))
    assert stream_health(engine, connection, now=now)[0] == "fresh"

    expiring = _age(engine, connection, 350, now)
    health, _, reason, _ = stream_health(engine, expiring, now=now)
    assert health == "consent_expiring"
    due = (expiring.consented_at + timedelta(days=365)).strftime("%Y-%m-%d")
    assert reason is not None and due in reason and "in 15 days" in reason
    # what the status command shows
    summary = summarize(engine, expiring)
    assert (summary.health, summary.last_error) == ("consent_expiring", reason)

    _failed(engine, expiring, now - timedelta(minutes=1))
    assert stream_health(engine, expiring, now=now)[0] == "failing"  # the worse news first

    expired = _age(engine, connection, 366, now)
    health, _, reason, _ = stream_health(engine, expired, now=now)
    assert health == "consent_expired"
    assert reason is not None and "expired" in reason and "authorize again" in reason


def test_each_warning_is_recorded_once_per_consent(engine: Engine) -> None:
    now = datetime.now(UTC)
    connection = _age(engine, make_connection(engine, "amazon"), 340, now)
    for _ in range(3):
        assert note_consent(engine, connection, now=now).level == "expiring"
    assert len(_events(engine, connection.id, "consent_expiring")) == 1

    expired = _age(engine, connection, 370, now)
    note_consent(engine, expired, now=now)
    note_consent(engine, expired, now=now)
    [event] = _events(engine, connection.id, "consent_expired")
    assert "expired" in event.message

    # the seller consents again: a new consent period, nothing to warn about ...
    renewed = control.upsert_connection(
        engine,
        tenant_id=connection.tenant_id,
        seller_id=connection.seller_id,
        platform="amazon",
        environment=connection.environment,
        region=connection.region,
        platform_account_id=connection.platform_account_id,
        scopes="",
    )
    assert note_consent(engine, renewed).level == "ok"
    # ... until 340 days later, when the new consent gets its own warning
    later = renewed.consented_at + timedelta(days=340)
    note_consent(engine, renewed, now=later)
    note_consent(engine, renewed, now=later)
    assert len(_events(engine, connection.id, "consent_expiring")) == 2


async def test_a_sync_records_the_warning(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    connection = _age(engine, make_connection(engine, "stripe"), 5000, datetime.now(UTC))
    amazon = _age(engine, make_connection(engine, "amazon"), 350, datetime.now(UTC))
    source = FakePlatform({"account": [{"id": "acct_1", "object": "account"}]})
    runner = SyncRunner(engine, Clients(source), contexts)
    await runner.sync_connection(connection.id, streams=["account"])
    await runner.sync_connection(amazon.id, streams=["account"])
    await runner.sync_connection(amazon.id, streams=["account"])
    assert _events(engine, connection.id, "consent_expiring") == []  # Stripe: no lifetime
    assert len(_events(engine, amazon.id, "consent_expiring")) == 1
