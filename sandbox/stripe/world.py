"""The Stripe emulator's state: connected accounts, their objects, list queries, ground truth."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sandbox.common.money import from_minor
from sandbox.common.mutations import replay
from sandbox.common.truth import Tally
from sandbox.common.world import WorldCore
from sandbox.stripe.facts import ACCOUNTS
from sandbox.stripe.model import Account, BalanceTransaction, Charge, Dispute, Payout, Refund
from sandbox.stripe.seed import AccountSeeder, Ledger, make_account, seed_history

T = TypeVar("T", Charge, Refund, BalanceTransaction, Payout, Dispute)


class UnknownCursor(KeyError):
    pass


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_more: bool


@dataclass(frozen=True)
class Range:
    """``created[gt|gte|lt|lte]`` bounds, unix seconds."""

    gt: int | None = None
    gte: int | None = None
    lt: int | None = None
    lte: int | None = None

    def __contains__(self, ts: int) -> bool:
        return not (
            (self.gt is not None and ts <= self.gt)
            or (self.gte is not None and ts < self.gte)
            or (self.lt is not None and ts >= self.lt)
            or (self.lte is not None and ts > self.lte)
        )


def paginate(
    items: list[T],
    *,
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
    keep: Callable[[T], bool],
) -> Page[T]:
    """Stripe list semantics over ``items`` sorted newest first."""
    position = {item.id: n for n, item in enumerate(items)}
    if starting_after is not None:
        if starting_after not in position:
            raise UnknownCursor(starting_after)
        after = [i for i in items[position[starting_after] + 1 :] if keep(i)]
        return Page(after[:limit], len(after) > limit)
    if ending_before is not None:
        if ending_before not in position:
            raise UnknownCursor(ending_before)
        before = [i for i in items[: position[ending_before]] if keep(i)]
        return Page(before[-limit:], len(before) > limit)
    matching = [i for i in items if keep(i)]
    return Page(matching[:limit], len(matching) > limit)


def _newest_first(items: list[T]) -> list[T]:
    # stable sort: same-second objects keep creation order, newest last-created first
    return sorted(items, key=lambda i: i.created, reverse=True)


class StripeWorld:
    platform = "stripe"

    def __init__(self, core: WorldCore) -> None:
        self.core = core
        self._lock = threading.RLock()
        seed = core.config.seed
        anchor = core.config.anchor_time
        self._ledgers: dict[str, Ledger] = {}
        for index, profile in enumerate(ACCOUNTS, start=1):
            account = make_account(seed, index, profile, anchor)
            self._ledgers[account.id] = seed_history(seed, account, anchor)
        replay(core.mutations, self._apply)

    # -- lookups -----------------------------------------------------------------------------
    @property
    def connected_accounts(self) -> list[Account]:
        return [ledger.account for ledger in self._ledgers.values()]

    def account(self, account_id: str) -> Account | None:
        ledger = self._ledgers.get(account_id)
        return ledger.account if ledger else None

    def now_ts(self) -> int:
        return int(self.core.clock.now().timestamp())

    def listing(self, account_id: str, kind: str) -> list[Any]:
        """The account's objects of ``kind``, newest first, created no later than now."""
        now = self.now_ts()
        with self._lock:
            ledger = self._ledgers[account_id]
            lists: dict[str, list[Any]] = {
                "charges": ledger.charges,
                "refunds": ledger.refunds,
                "balance_transactions": ledger.balance,
                "payouts": ledger.payouts,
                "disputes": ledger.disputes,
            }
            source = lists[kind]
            return [i for i in _newest_first(source) if i.created <= now]

    def charge(self, account_id: str, charge_id: str) -> Charge | None:
        return self._ledgers[account_id].charge(charge_id)

    # -- admin -------------------------------------------------------------------------------
    def accounts(self) -> list[dict[str, Any]]:
        return [
            {
                "id": a.id,
                "name": a.profile.business_name,
                "region": a.profile.country,
                "country": a.profile.country,
                "currency": a.currency.upper(),
            }
            for a in self.connected_accounts
        ]

    def truth(self) -> dict[str, Any]:
        accounts: dict[str, Any] = {}
        with self._lock:
            for account_id in self._ledgers:

                def major(units: int, currency: str) -> Decimal:
                    return from_minor(units, currency)

                charges, refunds, bts, payouts, disputes, account = (Tally() for _ in range(6))
                for c in self.listing(account_id, "charges"):
                    charges.add(c.currency, amount=major(c.amount, c.currency))
                for r in self.listing(account_id, "refunds"):
                    refunds.add(r.currency, amount=major(r.amount, r.currency))
                for bt in self.listing(account_id, "balance_transactions"):
                    cur = bt.currency
                    bts.add(
                        cur,
                        amount=major(bt.amount, cur),
                        fee=major(bt.fee, cur),
                        net=major(bt.net, cur),
                    )
                for p in self.listing(account_id, "payouts"):
                    payouts.add(p.currency, amount=major(p.amount, p.currency))
                for d in self.listing(account_id, "disputes"):
                    disputes.add(d.currency, amount=major(d.amount, d.currency))
                account.add()
                accounts[account_id] = {
                    "charges": charges.as_json(),
                    "refunds": refunds.as_json(),
                    "balance_transactions": bts.as_json(),
                    "payouts": payouts.as_json(),
                    "disputes": disputes.as_json(),
                    "account": account.as_json(),
                }
        return {
            "platform": self.platform,
            "as_of": self.core.clock.now().isoformat(),
            "accounts": accounts,
        }

    def add_activity(self, account: str, orders: int) -> list[str]:
        entry = {
            "kind": "activity",
            "account": account,
            "orders": orders,
            "at": self.core.clock.now().isoformat(),
        }
        with self._lock:
            seq = self.core.mutations.append(entry)
            return self._apply(entry, seq)

    def set_order_status(self, order_id: str, status: str) -> dict[str, Any]:
        """Stripe has no order status: ``refunded`` refunds what is left of the charge."""
        ledger = self._ledger_of_charge(order_id)
        if status.lower() != "refunded":
            raise ValueError("Stripe charges accept only status 'refunded' (a full refund)")
        charge = ledger.charge(order_id)
        assert charge is not None
        if charge.amount_refunded >= charge.amount:
            raise ValueError(f"charge {order_id} is already fully refunded")
        entry = {"kind": "refund", "charge": order_id, "at": self.core.clock.now().isoformat()}
        with self._lock:
            seq = self.core.mutations.append(entry)
            self._apply(entry, seq)
        return {
            "charge": charge.id,
            "status": "refunded",
            "amount_refunded": charge.amount_refunded,
        }

    def _ledger_of_charge(self, charge_id: str) -> Ledger:
        for ledger in self._ledgers.values():
            if ledger.charge(charge_id) is not None:
                return ledger
        raise KeyError(charge_id)

    # -- replayable changes ------------------------------------------------------------------
    def _apply(self, entry: dict[str, Any], seq: int) -> list[str]:
        at = int(datetime.fromisoformat(entry["at"]).timestamp())
        rng = random.Random(f"{self.core.config.seed}:stripe:mutation:{seq}")
        if entry["kind"] == "activity":
            ledger = self._ledgers[entry["account"]]
            seeder = AccountSeeder(ledger, rng)
            count = int(entry["orders"])
            return [seeder.charge(at - (count - 1 - n)).id for n in range(count)]
        if entry["kind"] == "refund":
            ledger = self._ledger_of_charge(entry["charge"])
            charge = ledger.charge(entry["charge"])
            assert charge is not None
            return [AccountSeeder(ledger, rng).refund(charge, at).id]
        raise ValueError(f"unknown mutation {entry['kind']!r}")
