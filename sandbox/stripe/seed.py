"""Deterministic seeding of Stripe connected accounts: charges, fees, refunds, disputes, payouts."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sandbox.common.ids import ALNUM, digits, token
from sandbox.common.people import fake_person
from sandbox.common.seasonality import daily_counts, times_in_day
from sandbox.stripe.facts import DISPUTE_REASONS, REFUND_REASONS, AccountProfile
from sandbox.stripe.model import Account, BalanceTransaction, Charge, Dispute, Payout, Refund

HISTORY_DAYS = 212
CHARGES_PER_MONTH = 90
PAYOUT_EVERY_DAYS = 14
AVAILABLE_AFTER_DAYS = 2  # card funds become available ~2 business days after the charge
REFUND_RATE = 0.05
DISPUTE_RATE = 0.006
_DAY = 86_400


def _midnight(ts: int) -> int:
    return ts - ts % _DAY


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


@dataclass
class Ledger:
    account: Account
    charges: list[Charge] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    disputes: list[Dispute] = field(default_factory=list)
    payouts: list[Payout] = field(default_factory=list)
    balance: list[BalanceTransaction] = field(default_factory=list)

    def charge(self, charge_id: str) -> Charge | None:
        return next((c for c in self.charges if c.id == charge_id), None)


def make_account(seed: int, index: int, profile: AccountProfile, anchor: datetime) -> Account:
    rng = random.Random(f"{seed}:stripe:account:{index}")
    fragment = token(rng, 10)
    created = _ts(anchor - timedelta(days=HISTORY_DAYS + rng.randint(30, 400)))
    return Account(
        id=f"acct_1{token(rng, 5)}{fragment}",
        index=index,
        profile=profile,
        created=created,
        publishable_key=f"pk_test_51{token(rng, 5)}{fragment}{token(rng, 60)}",
        bank_account=f"ba_1{token(rng, 5)}{fragment}{token(rng, 8)}",
    )


class AccountSeeder:
    def __init__(self, ledger: Ledger, rng: random.Random) -> None:
        self.ledger = ledger
        self.account = ledger.account
        self.rng = rng
        self._fragment = self.account.id[-10:]

    def oid(self, prefix: str, lead: str = "1") -> str:
        """Stripe-like id: prefix, a version digit, then a part shared by the account's objects."""
        return (
            f"{prefix}_{lead}{token(self.rng, 5, ALNUM)}{self._fragment}{token(self.rng, 8, ALNUM)}"
        )

    def _bt(
        self,
        amount: int,
        fee: int,
        kind: str,
        category: str,
        created: int,
        source: str | None,
        description: str | None,
        fee_details: list[tuple[int, str, str]],
        available_on: int | None = None,
    ) -> BalanceTransaction:
        bt = BalanceTransaction(
            id=self.oid("txn", "3"),
            amount=amount,
            fee=fee,
            currency=self.account.currency,
            type=kind,
            reporting_category=category,
            created=created,
            available_on=available_on if available_on is not None else created,
            source=source,
            description=description,
            fee_details=fee_details,
        )
        self.ledger.balance.append(bt)
        return bt

    def price(self) -> int:
        low, high = self.account.profile.price_range
        if self.account.currency == "jpy":
            return self.rng.randint(low // 10, high // 10) * 10
        return self.rng.randint(low // 100, high // 100) * 100 + self.rng.choice((0, 50, 99))

    def charge(self, created: int, amount: int | None = None) -> Charge:
        profile = self.account.profile
        amount = amount or self.price()
        fee = int(
            (Decimal(amount) * Decimal(profile.fee_percent)).quantize(Decimal(1), ROUND_HALF_UP)
        )
        fee += profile.fee_fixed
        charge_id = self.oid("ch", "3")
        payment_intent = self.oid("pi", "3")
        buyer = fake_person(self.rng, profile.country)
        bt = self._bt(
            amount,
            fee,
            "charge",
            "charge",
            created,
            charge_id,
            f"{profile.product} order",
            [(fee, "stripe_fee", "Stripe processing fees")],
            available_on=_midnight(created) + AVAILABLE_AFTER_DAYS * _DAY,
        )
        charge = Charge(
            id=charge_id,
            amount=amount,
            currency=self.account.currency,
            created=created,
            buyer=buyer,
            balance_transaction=bt.id,
            payment_intent=payment_intent,
            payment_method=self.oid("pm"),
            card_brand=self.rng.choice(("visa", "visa", "mastercard", "amex", "jcb")),
            card_last4=digits(self.rng, 4),
            card_exp=(
                self.rng.randint(1, 12),
                datetime.fromtimestamp(created, UTC).year + self.rng.randint(1, 5),
            ),
            fingerprint=token(self.rng, 16),
            description=f"{profile.product} order #{digits(self.rng, 5)}",
            risk_score=self.rng.randint(2, 60),
        )
        self.ledger.charges.append(charge)
        return charge

    def refund(self, charge: Charge, created: int, amount: int | None = None) -> Refund:
        remaining = charge.amount - charge.amount_refunded
        amount = min(amount or remaining, remaining)
        refund_id = self.oid("re", "3")
        bt = self._bt(-amount, 0, "refund", "refund", created, refund_id, "REFUND FOR CHARGE", [])
        refund = Refund(
            refund_id,
            charge.id,
            amount,
            charge.currency,
            created,
            self.rng.choice(REFUND_REASONS),
            bt.id,
            charge.payment_intent,
        )
        charge.refunds.append(refund)
        self.ledger.refunds.append(refund)
        return refund

    def dispute(self, charge: Charge, created: int, horizon: int) -> Dispute:
        fee = self.account.profile.dispute_fee
        dispute_id = self.oid("dp")
        withdrawal = self._bt(
            -charge.amount,
            fee,
            "adjustment",
            "dispute",
            created,
            dispute_id,
            f"Chargeback withdrawal for {charge.id}",
            [(fee, "stripe_fee", "Dispute fee")],
        )
        bts = [withdrawal]
        status = "needs_response"
        if created + 45 * _DAY < horizon:
            if self.rng.random() < 0.5:
                status = "won"
                reversal = self._bt(
                    charge.amount,
                    0,
                    "adjustment",
                    "dispute_reversal",
                    created + self.rng.randint(20, 40) * _DAY,
                    dispute_id,
                    f"Chargeback reversal for {charge.id}",
                    [],
                )
                bts.append(reversal)
            else:
                status = "lost"
        elif created + 10 * _DAY < horizon:
            status = "under_review"
        dispute = Dispute(
            dispute_id,
            charge.id,
            charge.payment_intent,
            charge.amount,
            charge.currency,
            created,
            self.rng.choice(DISPUTE_REASONS),
            status,
            charge.card_brand,
            bts,
        )
        charge.dispute = dispute_id
        self.ledger.disputes.append(dispute)
        return dispute

    def stripe_fee(self, created: int, amount: int, description: str) -> None:
        self._bt(-amount, 0, "stripe_fee", "fee", created, None, description, [])

    def payout(self, created: int) -> Payout | None:
        """An automatic payout of every available, not yet paid out balance transaction."""
        due = [
            bt
            for bt in self.ledger.balance
            if bt.payout is None and bt.created <= created and bt.available_on <= created
        ]
        amount = sum(bt.net for bt in due)
        if amount <= 0:
            return None
        payout_id = self.oid("po")
        bt = self._bt(-amount, 0, "payout", "payout", created, payout_id, "STRIPE PAYOUT", [])
        for item in [*due, bt]:
            item.payout = payout_id
        payout = Payout(
            payout_id,
            amount,
            self.account.currency,
            created,
            _midnight(created) + 2 * _DAY,
            bt.id,
            self.account.bank_account,
        )
        self.ledger.payouts.append(payout)
        return payout


def seed_history(seed: int, account: Account, anchor: datetime) -> Ledger:
    rng = random.Random(f"{seed}:stripe:history:{account.index}")
    ledger = Ledger(account)
    seeder = AccountSeeder(ledger, rng)
    horizon = _ts(anchor)
    start = anchor - timedelta(days=HISTORY_DAYS)
    monthly_charges = 0
    for day, count in daily_counts(rng, start.date(), anchor.date(), CHARGES_PER_MONTH):
        midnight = datetime(day.year, day.month, day.day, tzinfo=anchor.tzinfo)
        if day.day == 2 and monthly_charges:
            per_screen = 8 if account.currency == "jpy" else 5
            seeder.stripe_fee(
                _ts(midnight) + 7200,
                monthly_charges * per_screen,
                f"Radar screening fees ({(midnight - timedelta(days=2)):%b %Y})",
            )
            monthly_charges = 0
        for moment in times_in_day(rng, midnight, count):
            charge = seeder.charge(_ts(moment))
            monthly_charges += 1
            roll = rng.random()
            if roll < REFUND_RATE:
                refunded = charge.created + rng.randint(1, 20) * _DAY + rng.randrange(_DAY)
                if refunded < horizon:
                    partial = rng.random() < 0.3
                    seeder.refund(charge, refunded, charge.amount // 2 if partial else None)
            elif roll < REFUND_RATE + DISPUTE_RATE:
                opened = charge.created + rng.randint(5, 40) * _DAY + rng.randrange(_DAY)
                if opened < horizon:
                    seeder.dispute(charge, opened, horizon)
    if not ledger.disputes:  # every seller has at least one dispute
        candidates = [
            c for c in ledger.charges if not c.refunds and c.created < horizon - 60 * _DAY
        ]
        charge = rng.choice(candidates)
        seeder.dispute(charge, charge.created + 12 * _DAY + 3600, horizon)
    ledger.balance.sort(key=lambda bt: bt.created)
    boundary = _ts(start) + PAYOUT_EVERY_DAYS * _DAY
    while boundary < horizon:
        seeder.payout(boundary)
        boundary += PAYOUT_EVERY_DAYS * _DAY
    return ledger
