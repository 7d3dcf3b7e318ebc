"""Daily seller metrics from hand-built canonical rows written by the real page writer.

Rates are fixed test quotes (EUR -> USD 1.25, JPY -> USD 0.01) so every expected figure below
is computed by hand from the rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from normalizer.schema import (
    Dispute,
    DisputeStatus,
    Order,
    OrderLine,
    OrderStatus,
    Payout,
    PayoutStatus,
    Transaction,
    TransactionType,
)
from tests.scoring.helpers import daily_rows, fixed_rates, make_scope, write
from warehouse import metrics
from warehouse.scoring_tables import FxAmount, MetricsDirty
from warehouse.tables import Tenant, table_of
from warehouse.writer import ConnectionScope

D1 = date(2026, 3, 2)
D2 = date(2026, 3, 3)


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def order(
    external_id: str, gross: str, currency: str, status: OrderStatus, day: date = D1
) -> Order:
    return Order(
        external_id=external_id,
        placed_at=at(day),
        status=status,
        channel="test",
        currency=currency,
        gross=Decimal(gross),
        net=Decimal(gross),
    )


def line(external_id: str, order_id: str, quantity: int, currency: str) -> OrderLine:
    return OrderLine(
        external_id=external_id,
        order_external_id=order_id,
        quantity=quantity,
        currency=currency,
        unit_price=Decimal("1.00"),
        line_total=Decimal(quantity),
    )


def txn(
    external_id: str, kind: TransactionType, amount: str, currency: str, day: date = D1
) -> Transaction:
    return Transaction(
        external_id=external_id,
        type=kind,
        occurred_at=at(day, 15),
        currency=currency,
        amount=Decimal(amount),
    )


def seed(engine: Engine, tenant: str) -> tuple[ConnectionScope, ConnectionScope]:
    """A USD Stripe account and a EUR Amazon account of one seller (tenant reports in USD)."""
    stripe = make_scope(engine, "stripe", tenant=tenant, account="acct_1")
    amazon = make_scope(engine, "amazon", tenant=tenant, account="A1")
    write(
        engine,
        stripe,
        "charges",
        [
            [order("ch_1", "100.00", "USD", OrderStatus.PAID)],
            [order("ch_2", "50.00", "USD", OrderStatus.PAID)],
            [order("ch_3", "30.00", "USD", OrderStatus.FAILED)],
        ],
    )
    write(
        engine,
        stripe,
        "balance_transactions",
        [
            [
                txn("txn_1", TransactionType.SALE, "100.00", "USD"),
                txn("txn_1:fee", TransactionType.FEE, "-3.20", "USD"),
            ],
            [
                txn("txn_2", TransactionType.SALE, "50.00", "USD"),
                txn("txn_2:fee", TransactionType.FEE, "-1.75", "USD"),
            ],
            [txn("txn_3", TransactionType.REFUND, "-20.00", "USD")],
            [txn("txn_4", TransactionType.PAYOUT, "-120.00", "USD")],
        ],
    )
    write(
        engine,
        stripe,
        "payouts",
        [
            [
                Payout(
                    external_id="po_1",
                    created_at=at(D1),
                    arrival_date=D2,
                    currency="USD",
                    amount=Decimal("120.00"),
                    status=PayoutStatus.PAID,
                )
            ],
            [
                Payout(
                    external_id="po_2",
                    created_at=at(D1),
                    arrival_date=D2,
                    currency="USD",
                    amount=Decimal("999.00"),
                    status=PayoutStatus.IN_TRANSIT,
                )
            ],
        ],
    )
    write(
        engine,
        stripe,
        "disputes",
        [
            [
                Dispute(
                    external_id="dp_1",
                    opened_at=at(D1, 18),
                    currency="USD",
                    amount=Decimal("50.00"),
                    status=DisputeStatus.NEEDS_RESPONSE,
                )
            ]
        ],
    )
    write(
        engine,
        amazon,
        "orders",
        [
            [
                order("111-1", "40.00", "EUR", OrderStatus.FULFILLED),
                line("li_1", "111-1", 1, "EUR"),
                line("li_2", "111-1", 3, "EUR"),
            ],
            [
                order("111-2", "10.00", "EUR", OrderStatus.CANCELLED),
                line("li_3", "111-2", 5, "EUR"),
            ],
        ],
    )
    write(
        engine,
        amazon,
        "transactions",
        [
            [
                txn("at_1", TransactionType.SALE, "40.00", "EUR"),
                txn("at_1:fee", TransactionType.FEE, "-6.00", "EUR"),
            ]
        ],
    )
    return stripe, amazon


def money(text: str) -> Decimal:
    return Decimal(text)


def test_daily_metrics_equal_the_hand_computed_figures(engine: Engine, tenant: str) -> None:
    stripe, _ = seed(engine, tenant)
    seller = stripe.seller_id
    report = metrics.refresh(engine, tenant_id=stripe.tenant_id, rates=fixed_rates())
    assert (report.buckets, report.totals) == (3, 2)  # stripe D1, D2, amazon D1; all D1, D2
    rows = daily_rows(engine, stripe.tenant_id)
    assert set(rows) == {
        (seller, "stripe", D1),
        (seller, "stripe", D2),
        (seller, "amazon", D1),
        (seller, "all", D1),
        (seller, "all", D2),
    }

    s1 = rows[(seller, "stripe", D1)]
    assert s1["currency"] == "USD"
    assert s1["gross_sales"] == money("150.00")
    assert (s1["orders"], s1["units"]) == (2, 0)  # the failed charge is not an order
    assert s1["refunds"] == money("20.00")
    assert s1["refund_rate"] == money("0.133333")  # 20 / 150, six places, half-even
    assert s1["fees"] == money("4.95")
    assert s1["net_sales"] == money("125.05")
    assert s1["payouts"] == 0  # paid on arrival day D2
    assert (s1["disputes"], s1["dispute_amount"]) == (1, money("50.00"))
    assert s1["dispute_rate"] == money("0.5")
    assert s1["average_order_value"] == money("75.00")

    s2 = rows[(seller, "stripe", D2)]
    assert s2["payouts"] == money("120.00")  # the in-transit payout is not counted
    assert (s2["orders"], s2["gross_sales"]) == (0, 0)
    assert s2["refund_rate"] is None and s2["average_order_value"] is None

    a1 = rows[(seller, "amazon", D1)]  # EUR at 1.25
    assert a1["gross_sales"] == money("50.00")
    assert (a1["orders"], a1["units"]) == (1, 4)  # the cancelled order and its 5 units excluded
    assert a1["fees"] == money("7.50")
    assert a1["net_sales"] == money("42.50")
    assert a1["average_order_value"] == money("50.00")
    assert a1["refund_rate"] == 0

    t1 = rows[(seller, "all", D1)]
    assert t1["gross_sales"] == money("200.00")
    assert (t1["orders"], t1["units"], t1["disputes"]) == (3, 4, 1)
    assert t1["fees"] == money("12.45")
    assert t1["net_sales"] == money("167.55")
    assert t1["refund_rate"] == money("0.1")
    assert t1["dispute_rate"] == money("0.333333")
    assert t1["average_order_value"] == money("66.67")  # 200 / 3
    assert rows[(seller, "all", D2)]["payouts"] == money("120.00")

    # the reading API
    got = metrics.daily(
        engine, tenant_id=stripe.tenant_id, seller_id=seller, platform=None, start=D1, end=D2
    )
    assert [r["day"] for r in got] == [D1, D2]
    assert got[0]["gross_sales"] == money("200.00")
    window = metrics.rolling(
        engine,
        tenant_id=stripe.tenant_id,
        seller_id=seller,
        platform=None,
        day=D2,
        window_days=30,
    )
    assert window["start"] == D2 - timedelta(days=29)
    assert (window["gross_sales"], window["payouts"]) == (money("200.00"), money("120.00"))
    assert (window["orders"], window["days_with_activity"]) == (3, 2)
    assert window["average_order_value"] == money("66.67")
    only_amazon = metrics.rolling(
        engine,
        tenant_id=stripe.tenant_id,
        seller_id=seller,
        platform="amazon",
        day=D1 - timedelta(days=1),
        window_days=90,
    )
    assert (only_amazon["orders"], only_amazon["days_with_activity"]) == (0, 0)
    with pytest.raises(ValueError, match="window_days"):
        metrics.rolling(
            engine,
            tenant_id=stripe.tenant_id,
            seller_id=seller,
            platform=None,
            day=D2,
            window_days=7,
        )


def test_every_amount_is_kept_in_the_reporting_currency_with_its_rate(
    engine: Engine, tenant: str
) -> None:
    stripe, _ = seed(engine, tenant)
    metrics.refresh(engine, tenant_id=stripe.tenant_id, rates=fixed_rates())
    fx = table_of(FxAmount)
    with engine.connect() as conn:
        rows = {
            (r.entity, r.external_id, r.field): r
            for r in conn.execute(select(fx).where(fx.c.tenant_id == stripe.tenant_id))
        }
    gross = rows[("orders", "111-1", "gross")]
    assert (gross.currency, gross.amount, gross.reporting_currency) == ("EUR", 40, "USD")
    assert (gross.rate, gross.rate_date, gross.reporting_amount) == (
        Decimal("1.25"),
        D1,
        money("50.00"),
    )
    line_total = rows[("order_lines", "li_2", "line_total")]
    assert line_total.reporting_amount == money("3.75")
    payout = rows[("payouts", "po_1", "amount")]
    assert (payout.rate, payout.day) == (Decimal(1), D2)
    # every money field of every row: orders 5, lines 2, one each for the others
    assert len(rows) == 5 * 5 + 3 * 2 + 8 + 2 + 1


def test_a_refresh_recomputes_only_the_buckets_a_write_touched(engine: Engine, tenant: str) -> None:
    stripe, amazon = seed(engine, tenant)
    seller = stripe.seller_id
    metrics.refresh(engine, tenant_id=stripe.tenant_id, rates=fixed_rates())
    before = daily_rows(engine, stripe.tenant_id)

    # the same pages again: nothing changed, nothing to recompute
    seed(engine, tenant)
    dirty = table_of(MetricsDirty)
    with engine.connect() as conn:
        marks = select(dirty).where(dirty.c.tenant_id == stripe.tenant_id)
        assert conn.execute(marks).first() is None
    assert metrics.refresh(engine, tenant_id=stripe.tenant_id, rates=fixed_rates()).buckets == 0

    # one new Stripe sale on D2: only (stripe, D2) and the seller's D2 total are recomputed
    write(
        engine,
        stripe,
        "balance_transactions",
        [[txn("txn_9", TransactionType.SALE, "7.00", "USD", D2)]],
    )
    report = metrics.refresh(engine, tenant_id=stripe.tenant_id, rates=fixed_rates())
    assert report.recomputed == [(seller, "stripe", D2)]
    assert report.totals == 1
    after = daily_rows(engine, stripe.tenant_id)
    assert after[(seller, "stripe", D2)]["gross_sales"] == money("7.00")
    assert after[(seller, "all", D2)]["gross_sales"] == money("7.00")
    unchanged = {key for key in before if key[2] == D1}
    assert all(after[key] == before[key] for key in unchanged)

    # an Amazon order is cancelled: its day on Amazon and the seller's total change
    write(
        engine,
        amazon,
        "orders",
        [
            [
                order("111-1", "40.00", "EUR", OrderStatus.CANCELLED),
                line("li_1", "111-1", 1, "EUR"),
                line("li_2", "111-1", 3, "EUR"),
            ]
        ],
    )
    report = metrics.refresh(engine, tenant_id=stripe.tenant_id, rates=fixed_rates())
    assert report.recomputed == [(seller, "amazon", D1)]
    final = daily_rows(engine, stripe.tenant_id)
    assert (final[(seller, "amazon", D1)]["orders"], final[(seller, "amazon", D1)]["units"]) == (
        0,
        0,
    )
    assert final[(seller, "all", D1)]["orders"] == 2
    assert final[(seller, "stripe", D1)] == before[(seller, "stripe", D1)]

    # and a full rebuild agrees with what the refreshes kept up to date
    metrics.rebuild(engine, tenant_id=stripe.tenant_id, rates=fixed_rates())
    assert daily_rows(engine, stripe.tenant_id) == final


def test_an_order_moved_to_another_day_leaves_its_old_day(engine: Engine, tenant: str) -> None:
    _, amazon = seed(engine, tenant)
    metrics.refresh(engine, tenant_id=amazon.tenant_id, rates=fixed_rates())
    write(
        engine,
        amazon,
        "orders",
        [
            [
                order("111-1", "40.00", "EUR", OrderStatus.FULFILLED, D2),
                line("li_1", "111-1", 1, "EUR"),
            ]
        ],
    )
    report = metrics.refresh(engine, tenant_id=amazon.tenant_id, rates=fixed_rates())
    assert sorted(report.recomputed) == [
        (amazon.seller_id, "amazon", D1),
        (amazon.seller_id, "amazon", D2),
    ]
    rows = daily_rows(engine, amazon.tenant_id)
    assert rows[(amazon.seller_id, "amazon", D1)]["orders"] == 0
    assert (
        rows[(amazon.seller_id, "amazon", D2)]["orders"],
        rows[(amazon.seller_id, "amazon", D2)]["units"],
    ) == (1, 4)  # its lines (1 + 3 units) follow it
    metrics.rebuild(engine, tenant_id=amazon.tenant_id, rates=fixed_rates())
    rebuilt = daily_rows(engine, amazon.tenant_id)
    assert rebuilt == rows


def test_a_new_reporting_currency_recomputes_the_sellers_days(engine: Engine, tenant: str) -> None:
    stripe, _ = seed(engine, tenant)
    metrics.refresh(engine, tenant_id=stripe.tenant_id, rates=fixed_rates())
    with engine.begin() as conn:
        tenants = table_of(Tenant)
        conn.execute(
            update(tenants).where(tenants.c.id == stripe.tenant_id).values(reporting_currency="JPY")
        )
    # a refresh with a single dirty day notices the stale currency and redoes every day
    write(
        engine,
        stripe,
        "balance_transactions",
        [[txn("txn_9", TransactionType.SALE, "7.00", "USD", D2)]],
    )
    metrics.refresh(engine, tenant_id=stripe.tenant_id, rates=fixed_rates())
    rows = daily_rows(engine, stripe.tenant_id)
    assert {row["currency"] for row in rows.values()} == {"JPY"}
    total = rows[(stripe.seller_id, "all", D1)]
    assert total["gross_sales"] == Decimal(20000)  # 150 USD * 100 + 40 EUR * 125
    assert total["average_order_value"] == Decimal(6667)  # 20000 / 3 in whole yen


def test_a_bucket_marked_again_while_it_is_recomputed_stays_dirty(
    engine: Engine, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stripe, _ = seed(engine, tenant)
    recompute = metrics._recompute_seller

    def with_a_page_landing_meanwhile(conn: Any, *args: Any, **kwargs: Any) -> None:
        recompute(conn, *args, **kwargs)
        # a writer commits a change to (stripe, D1) after the figures were read
        metrics._mark(conn, [(stripe.tenant_id, stripe.seller_id, "stripe", D1)], at(D1))

    dirty = table_of(MetricsDirty)

    def marks() -> list[tuple[str, date, int]]:
        with engine.connect() as conn:
            query = select(dirty).where(dirty.c.tenant_id == stripe.tenant_id)
            return sorted((row.platform, row.day, row.seq) for row in conn.execute(query))

    seen = {(platform, day): seq for platform, day, seq in marks()}
    monkeypatch.setattr(metrics, "_recompute_seller", with_a_page_landing_meanwhile)
    metrics.refresh(engine, tenant_id=stripe.tenant_id, rates=fixed_rates())
    monkeypatch.undo()
    assert marks() == [("stripe", D1, seen[("stripe", D1)] + 1)]
    assert metrics.refresh(engine, tenant_id=stripe.tenant_id, rates=fixed_rates()).recomputed == [
        (stripe.seller_id, "stripe", D1)
    ]
