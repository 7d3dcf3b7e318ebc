"""The Amazon emulator's state: seeded sellers, their orders and transactions, and queries."""

from __future__ import annotations

import random
import threading
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sandbox.amazon.facts import (
    FINANCE_LAG_WINDOW_HOURS,
    FULFILLMENT_STATUSES,
    PAGE_TOKEN_HOURS,
    SELLERS,
)
from sandbox.amazon.model import Order, Seller, Transaction
from sandbox.amazon.seed import SellerSeeder, make_seller, seed_history
from sandbox.common.mutations import replay
from sandbox.common.pagetoken import PageTokens
from sandbox.common.truth import Tally
from sandbox.common.world import WorldCore

Key = tuple[str, str]  # (ISO time, id): keyset position in a time-sorted listing


@dataclass
class _Ledger:
    seller: Seller
    orders: list[Order]
    txns: list[Transaction]
    open_group: str


def _key(moment: datetime, ident: str) -> Key:
    return (moment.isoformat(), ident)


class AmazonWorld:
    platform = "amazon"

    def __init__(self, core: WorldCore) -> None:
        self.core = core
        self._lock = threading.RLock()
        seed = core.config.seed
        anchor = core.config.anchor_time
        self.page_tokens = PageTokens(f"amazon:{seed}", timedelta(hours=PAGE_TOKEN_HOURS))
        self._ledgers: dict[str, _Ledger] = {}
        self._orders: dict[str, Order] = {}
        for index, profile in enumerate(SELLERS, start=1):
            seller = make_seller(seed, index, profile)
            orders, txns, open_group = seed_history(seed, seller, anchor)
            self._ledgers[seller.id] = _Ledger(seller, orders, txns, open_group)
            self._orders.update((o.id, o) for o in orders)
        replay(core.mutations, self._apply)

    # -- lookups -----------------------------------------------------------------------------
    @property
    def sellers(self) -> list[Seller]:
        return [ledger.seller for ledger in self._ledgers.values()]

    def seller(self, seller_id: str) -> Seller | None:
        ledger = self._ledgers.get(seller_id)
        return ledger.seller if ledger else None

    def order(self, order_id: str) -> Order | None:
        return self._orders.get(order_id)

    def horizon(self, now: datetime) -> datetime:
        """The newest moment the API serves by default: "...Before" defaults to two minutes
        before the request (finances_2024-06-19.json listTransactions postedBefore), and an
        explicit one must be at least that old (orders_2026-01-01.json searchOrders)."""
        return now - timedelta(seconds=self.core.settings.before_margin)

    # -- Orders: searchOrders ----------------------------------------------------------------
    def search_orders(
        self,
        seller_id: str,
        *,
        by_updated: bool,
        after: datetime,
        before: datetime,
        marketplaces: Collection[str],
        statuses: Collection[str] | None,
        fulfilled_by: Collection[str] | None,
        position: Key | None,
        limit: int,
    ) -> tuple[list[Order], bool]:
        """Orders in [after, before] on created (or last-updated) time, ascending, keyset-paged."""
        with self._lock:
            ledger = self._ledgers[seller_id]

            def moment(order: Order) -> datetime:
                return order.updated if by_updated else order.created

            matches = sorted(
                (
                    o
                    for o in ledger.orders
                    if after <= moment(o) <= before
                    and o.marketplace.id in marketplaces
                    and (statuses is None or o.status in statuses)
                    and (not fulfilled_by or o.fulfilled_by in fulfilled_by)
                    and (position is None or _key(moment(o), o.id) > position)
                ),
                key=lambda o: _key(moment(o), o.id),
            )
        return matches[:limit], len(matches) > limit

    # -- Finances: listTransactions ----------------------------------------------------------
    def released(self, txn: Transaction, now: datetime) -> bool:
        """Recent transactions may show up late ("might not include orders from the last 48
        hours", finances_2024-06-19.json listTransactions): the lagged ones posted less than
        ``release_delay`` ago (at most 48 h) are held back."""
        if not txn.lagged:
            return True
        window = min(
            timedelta(seconds=self.core.settings.release_delay),
            timedelta(hours=FINANCE_LAG_WINDOW_HOURS),
        )
        return now - txn.posted >= window

    def list_transactions(
        self,
        seller_id: str,
        *,
        after: datetime | None,
        before: datetime,
        marketplace: str | None,
        related: tuple[str, str] | None,
        position: Key | None,
        limit: int,
    ) -> tuple[list[Transaction], bool]:
        now = self.core.clock.now()
        with self._lock:
            ledger = self._ledgers[seller_id]
            matches = [
                t
                for t in ledger.txns
                if (after is None or t.posted >= after)
                and t.posted < before
                and (marketplace is None or t.marketplace.id == marketplace)
                and (related is None or _related(t, related))
                and self.released(t, now)
                and (position is None or _key(t.posted, t.id) > position)
            ]
        matches.sort(key=lambda t: _key(t.posted, t.id))
        return matches[:limit], len(matches) > limit

    # -- admin -------------------------------------------------------------------------------
    def accounts(self) -> list[dict[str, Any]]:
        return [
            {
                "id": s.id,
                "name": s.profile.store_name,
                "region": s.marketplace.region,
                "marketplace_id": s.marketplace.id,
                "country": s.marketplace.country,
                "currency": s.currency,
            }
            for s in self.sellers
        ]

    def participations(self, seller: Seller) -> list[str]:
        return [seller.marketplace.id, *seller.profile.other_marketplaces]

    def truth(self) -> dict[str, Any]:
        now = self.core.clock.now()
        horizon = self.horizon(now)
        accounts: dict[str, Any] = {}
        with self._lock:
            for seller_id, ledger in self._ledgers.items():
                orders, items, txns, refunds = Tally(), Tally(), Tally(), Tally()
                for order in ledger.orders:
                    if order.created <= horizon:
                        orders.add(order.currency, grand_total=order.grand_total)
                        for line in order.lines:
                            items.add(order.currency, item_total=line.item_total)
                for txn in ledger.txns:
                    if txn.posted < horizon and self.released(txn, now):
                        txns.add(txn.currency, total_amount=txn.total)
                        if txn.type == "Refund":
                            refunds.add(txn.currency, total_amount=txn.total)
                participations = Tally()
                for _ in self.participations(ledger.seller):
                    participations.add()
                accounts[seller_id] = {
                    "orders": orders.as_json(),
                    "order_items": items.as_json(),
                    "transactions": txns.as_json(),
                    "refund_transactions": refunds.as_json(),
                    "marketplace_participations": participations.as_json(),
                }
        return {"platform": self.platform, "as_of": now.isoformat(), "accounts": accounts}

    def add_activity(self, account: str, orders: int) -> list[str]:
        # dated just past the two-minute horizon, so the next sync sees them at once
        at = self.horizon(self.core.clock.now()) - timedelta(seconds=1)
        entry = {"kind": "activity", "account": account, "orders": orders, "at": at.isoformat()}
        with self._lock:
            seq = self.core.mutations.append(entry)
            return self._apply(entry, seq)

    def set_order_status(self, order_id: str, status: str) -> dict[str, Any]:
        if order_id not in self._orders:
            raise KeyError(order_id)
        if status not in FULFILLMENT_STATUSES:
            raise ValueError(f"status must be one of {', '.join(FULFILLMENT_STATUSES)}")
        at = max(
            self._orders[order_id].created,
            self.horizon(self.core.clock.now()) - timedelta(seconds=1),
        )
        entry = {"kind": "status", "order": order_id, "status": status, "at": at.isoformat()}
        with self._lock:
            seq = self.core.mutations.append(entry)
            self._apply(entry, seq)
            order = self._orders[order_id]
        return {
            "order": order.id,
            "status": order.status,
            "lastUpdatedTime": order.updated.isoformat(),
        }

    # -- replayable changes ------------------------------------------------------------------
    def _apply(self, entry: dict[str, Any], seq: int) -> list[str]:
        at = datetime.fromisoformat(entry["at"])
        rng = random.Random(f"{self.core.config.seed}:amazon:mutation:{seq}")
        if entry["kind"] == "activity":
            ledger = self._ledgers[entry["account"]]
            seeder = SellerSeeder(ledger.seller, rng)
            count = int(entry["orders"])
            created_ids = []
            for n in range(count):
                order = seeder.new_order(at - timedelta(seconds=count - 1 - n))
                while order.id in self._orders:
                    order.id = seeder.order_id()
                order.status, order.updated = "SHIPPED", order.created
                self._add_order(ledger, order)
                self._add_txn(ledger, seeder.shipment(order, order.created))
                created_ids.append(order.id)
            return created_ids
        if entry["kind"] == "status":
            order = self._orders[entry["order"]]
            ledger = self._ledgers[order.seller_id]
            order.status, order.updated = entry["status"], at
            shipped = any(t.order is order and t.type == "Shipment" for t in ledger.txns)
            if entry["status"] == "SHIPPED" and not shipped:
                self._add_txn(ledger, SellerSeeder(ledger.seller, rng).shipment(order, at))
            return [order.id]
        raise ValueError(f"unknown mutation {entry['kind']!r}")

    def _add_order(self, ledger: _Ledger, order: Order) -> None:
        ledger.orders.append(order)
        ledger.orders.sort(key=lambda o: (o.created, o.id))
        self._orders[order.id] = order

    def _add_txn(self, ledger: _Ledger, txn: Transaction) -> None:
        txn.group_id = ledger.open_group
        ledger.txns.append(txn)
        ledger.txns.sort(key=lambda t: (t.posted, t.id))


def _related(txn: Transaction, related: tuple[str, str]) -> bool:
    name, value = related
    if name == "ORDER_ID":
        return txn.order is not None and txn.order.id == value
    if name == "FINANCIAL_EVENT_GROUP_ID":
        return txn.group_id == value
    return False
