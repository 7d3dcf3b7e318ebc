"""The seeded worlds: deterministic, seasonal, several currencies, realistic money flows."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from sandbox.amazon import platform as amazon_platform
from sandbox.amazon.world import AmazonWorld
from sandbox.common.config import WorldConfig, load_or_create
from sandbox.stripe import platform as stripe_platform
from sandbox.stripe.world import StripeWorld

ANCHOR = date(2026, 1, 31)  # seven months back reaches into July: holiday season included


def _amazon(tmp_path: Path, seed: int = 7) -> AmazonWorld:
    world, _ = amazon_platform.build(WorldConfig(seed, ANCHOR), tmp_path, "sandbox")
    return world


def _stripe(tmp_path: Path, seed: int = 7) -> StripeWorld:
    world, _ = stripe_platform.build(WorldConfig(seed, ANCHOR), tmp_path, "sandbox")
    return world


@pytest.fixture(scope="module")
def amazon(tmp_path_factory: pytest.TempPathFactory) -> AmazonWorld:
    return _amazon(tmp_path_factory.mktemp("amazon"))


@pytest.fixture(scope="module")
def stripe(tmp_path_factory: pytest.TempPathFactory) -> StripeWorld:
    return _stripe(tmp_path_factory.mktemp("stripe"))


def test_same_seed_same_world_other_seed_other_world(tmp_path: Path, amazon: AmazonWorld) -> None:
    again = _amazon(tmp_path / "again")
    assert [s.id for s in again.sellers] == [s.id for s in amazon.sellers]
    assert again.truth()["accounts"] == amazon.truth()["accounts"]
    other = _amazon(tmp_path / "other", seed=8)
    assert [s.id for s in other.sellers] != [s.id for s in amazon.sellers]


def test_config_is_created_once_then_reused(tmp_path: Path) -> None:
    first = load_or_create(tmp_path, 7, today=date(2026, 3, 1))
    later = load_or_create(tmp_path, 7, today=date(2026, 9, 9))
    assert first == later == WorldConfig(7, date(2026, 3, 1))


def test_amazon_volume_seasons_and_currencies(amazon: AmazonWorld) -> None:
    for seller in amazon.sellers:
        orders = amazon.search_orders(
            seller.id,
            by_updated=False,
            after=amazon.core.config.anchor_time.replace(year=2020),
            before=amazon.core.config.anchor_time,
            marketplaces=[seller.marketplace.id],
            statuses=None,
            fulfilled_by=None,
            position=None,
            limit=10_000,
        )[0]
        per_month = Counter(o.created.strftime("%Y-%m") for o in orders)
        full_months = [m for m in per_month if "2025-08" <= m <= "2026-01"]
        average = sum(per_month[m] for m in full_months) / len(full_months)
        assert 80 <= average <= 120, per_month
        assert (
            per_month["2025-12"] > per_month["2025-09"]
            and per_month["2025-11"] > per_month["2025-10"]
        )
        weekdays = Counter(o.created.weekday() for o in orders)
        assert weekdays[5] > weekdays[0]  # Saturdays beat Mondays
        assert {o.currency for o in orders} == {seller.currency}
        statuses = Counter(o.status for o in orders)
        assert statuses["SHIPPED"] > 0.9 * len(orders) and statuses["CANCELLED"] > 0
    assert [s.currency for s in amazon.sellers] == ["USD", "JPY", "EUR"]


def test_amazon_refund_rate_and_money_signs(amazon: AmazonWorld) -> None:
    for seller in amazon.sellers:
        txns, _ = amazon.list_transactions(
            seller.id,
            after=None,
            before=amazon.core.config.anchor_time,
            marketplace=None,
            related=None,
            position=None,
            limit=100_000,
        )
        kinds: dict[str, list[Decimal]] = defaultdict(list)
        for txn in txns:
            kinds[txn.type].append(txn.total)
        shipments = len(kinds["Shipment"])
        assert 0.02 < len(kinds["Refund"]) / shipments < 0.08
        assert all(a > 0 for a in kinds["Shipment"]) and all(a < 0 for a in kinds["Refund"])
        assert all(a < 0 for a in kinds["ServiceFee"] + kinds["Transfer"])
        assert len(kinds["ServiceFee"]) >= 6 and len(kinds["Transfer"]) >= 13
        if seller.currency == "JPY":
            assert all(a == a.to_integral_value() for amounts in kinds.values() for a in amounts)


def test_amazon_buyers_carry_pii_to_be_stripped(amazon: AmazonWorld) -> None:
    seller = amazon.sellers[1]
    order = amazon.search_orders(
        seller.id,
        by_updated=False,
        after=amazon.core.config.anchor_time.replace(year=2020),
        before=amazon.core.config.anchor_time,
        marketplaces=[seller.marketplace.id],
        statuses=None,
        fulfilled_by=None,
        position=None,
        limit=1,
    )[0][0]
    assert (
        order.buyer.country == "JP" and order.buyer.name and order.buyer.line1 and order.buyer.phone
    )


def test_stripe_accounts_have_disputes_refunds_fees_and_payouts(stripe: StripeWorld) -> None:
    for account in stripe.connected_accounts:
        charges = stripe.listing(account.id, "charges")
        assert 550 <= len(charges) <= 900
        refunds = stripe.listing(account.id, "refunds")
        assert 0.02 < len(refunds) / len(charges) < 0.08
        assert stripe.listing(account.id, "disputes")
        payouts = stripe.listing(account.id, "payouts")
        assert len(payouts) >= 13
        kinds = Counter(bt.type for bt in stripe.listing(account.id, "balance_transactions"))
        assert kinds["stripe_fee"] >= 6 and kinds["adjustment"] >= 1
        if account.currency == "jpy":
            assert all(c.amount % 10 == 0 for c in charges)
    assert [a.currency for a in stripe.connected_accounts] == ["usd", "jpy", "eur"]


def test_stripe_payouts_pay_out_what_was_available(stripe: StripeWorld) -> None:
    account = stripe.connected_accounts[2]
    balance = stripe.listing(account.id, "balance_transactions")
    for payout in stripe.listing(account.id, "payouts"):
        settled = [bt for bt in balance if bt.payout == payout.id and bt.type != "payout"]
        assert sum(bt.net for bt in settled) == payout.amount > 0
        assert all(bt.available_on <= payout.created for bt in settled)
