"""Raw records as the sandbox emulators render them for their seeded sellers (tests' inputs)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

SEED = 7
ANCHOR = datetime(2025, 6, 1, tzinfo=UTC)


def stripe_records(seed: int = SEED, anchor: datetime = ANCHOR) -> Iterator[tuple[str, Any]]:
    """(stream, record) for every object of every seeded Stripe account."""
    from sandbox.stripe.facts import ACCOUNTS
    from sandbox.stripe.render import (
        account_json,
        balance_transaction_json,
        charge_json,
        dispute_json,
        payout_json,
        refund_json,
    )
    from sandbox.stripe.seed import make_account, seed_history

    now = int(anchor.timestamp())
    for index, profile in enumerate(ACCOUNTS, start=1):
        account = make_account(seed, index, profile, anchor)
        ledger = seed_history(seed, account, anchor)
        yield "account", account_json(account)
        for charge in ledger.charges:
            yield "charges", charge_json(charge, account)
        for refund in ledger.refunds:
            yield "refunds", refund_json(refund)
        for bt in ledger.balance:
            yield "balance_transactions", balance_transaction_json(bt, now)
        for payout in ledger.payouts:
            yield "payouts", payout_json(payout, now)
        for dispute in ledger.disputes:
            yield "disputes", dispute_json(dispute, now)


def amazon_records(seed: int = SEED, anchor: datetime = ANCHOR) -> Iterator[tuple[str, Any]]:
    """(stream, record) for every seeded Amazon seller: marketplace participations, orders
    (with and without the included data) and finance transactions."""
    from sandbox.amazon.facts import INCLUDED_DATA, SELLERS
    from sandbox.amazon.render import order_json, participation_json, transaction_json
    from sandbox.amazon.seed import make_seller, seed_history

    for index, profile in enumerate(SELLERS, start=1):
        seller = make_seller(seed, index, profile)
        orders, txns, _ = seed_history(seed, seller, anchor)
        for marketplace_id in [seller.marketplace.id, *profile.other_marketplaces]:
            yield "account", participation_json(marketplace_id, profile.store_name)
        for order in orders:
            yield "orders", order_json(order, INCLUDED_DATA)
            yield "orders", order_json(order, ())
        for txn in txns:
            yield "transactions", transaction_json(txn)
