"""The Stripe world's objects before rendering. Amounts are integer minor units."""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.common.people import Person
from sandbox.stripe.facts import AccountProfile


@dataclass(frozen=True)
class Account:
    id: str
    index: int
    profile: AccountProfile
    created: int
    publishable_key: str
    bank_account: str

    @property
    def currency(self) -> str:
        return self.profile.currency


@dataclass
class BalanceTransaction:
    id: str
    amount: int
    fee: int
    currency: str
    type: str
    reporting_category: str
    created: int
    available_on: int
    source: str | None
    description: str | None
    fee_details: list[tuple[int, str, str]] = field(default_factory=list)  # (amount, type, text)
    payout: str | None = None  # the automatic payout that settled it

    @property
    def net(self) -> int:
        return self.amount - self.fee


@dataclass
class Refund:
    id: str
    charge: str
    amount: int
    currency: str
    created: int
    reason: str | None
    balance_transaction: str
    payment_intent: str


@dataclass
class Charge:
    id: str
    amount: int
    currency: str
    created: int
    buyer: Person
    balance_transaction: str
    payment_intent: str
    payment_method: str
    card_brand: str
    card_last4: str
    card_exp: tuple[int, int]
    fingerprint: str
    description: str
    risk_score: int
    refunds: list[Refund] = field(default_factory=list)
    dispute: str | None = None

    @property
    def amount_refunded(self) -> int:
        return sum(r.amount for r in self.refunds)


@dataclass
class Dispute:
    id: str
    charge: str
    payment_intent: str
    amount: int
    currency: str
    created: int
    reason: str
    status: str
    card_brand: str
    balance_transactions: list[BalanceTransaction]


@dataclass
class Payout:
    id: str
    amount: int
    currency: str
    created: int
    arrival_date: int
    balance_transaction: str
    destination: str
