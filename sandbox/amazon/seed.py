"""Deterministic seeding of Amazon sellers: orders, shipments, refunds, fees, disbursements."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from sandbox.amazon.facts import MARKETPLACES, Product, SellerProfile
from sandbox.amazon.model import Breakdown, Order, OrderLine, Seller, Transaction
from sandbox.common.ids import UPPER_ALNUM, digits, token
from sandbox.common.money import quantize
from sandbox.common.people import fake_person
from sandbox.common.seasonality import daily_counts, times_in_day

URLSAFE = UPPER_ALNUM + "abcdefghijklmnopqrstuvwxyz-_"
HISTORY_DAYS = 212  # about seven months before the anchor
ORDERS_PER_MONTH = 90
SETTLEMENT_DAYS = 14
REFUND_RATE = 0.05
CANCEL_RATE = 0.02
FBA_SHARE = 0.6
# Order-id prefixes seen per marketplace (3-7-7 digits).
_ORDER_PREFIX = {
    "US": ("111", "112", "113", "114"),
    "JP": ("249", "250", "503"),
    "DE": ("028", "302", "305"),
}


def make_seller(seed: int, index: int, profile: SellerProfile) -> Seller:
    rng = random.Random(f"{seed}:amazon:seller:{index}")
    seller_id = "A" + token(rng, 13, UPPER_ALNUM)
    prefix = "".join(word[0] for word in profile.store_name.split()).upper()
    products = tuple(
        Product(
            asin="B0" + token(rng, 8, UPPER_ALNUM),
            sku=f"{prefix}-{n:03d}-{token(rng, 4, UPPER_ALNUM)}",
            title=title,
            price=Decimal(price),
        )
        for n, (title, price) in enumerate(profile.catalog, start=1)
    )
    return Seller(seller_id, index, profile, MARKETPLACES[profile.marketplace_id], products)


class SellerSeeder:
    """Builds one seller's records from its own random stream."""

    def __init__(self, seller: Seller, rng: random.Random) -> None:
        self.seller = seller
        self.rng = rng

    # -- orders ------------------------------------------------------------------------------
    def order_id(self) -> str:
        prefix = self.rng.choice(_ORDER_PREFIX[self.seller.marketplace.country])
        return f"{prefix}-{digits(self.rng, 7)}-{digits(self.rng, 7)}"

    def new_order(self, created: datetime) -> Order:
        rng, seller = self.rng, self.seller
        currency = seller.currency
        fba = rng.random() < FBA_SHARE
        prime = fba and rng.random() < 0.7
        n_lines = rng.choices((1, 2, 3), weights=(70, 22, 8))[0]
        shipping_left = Decimal(0) if fba or prime else seller.profile.mfn_shipping
        lines = []
        for product in rng.sample(seller.products, n_lines):
            quantity = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
            line_shipping, shipping_left = shipping_left, Decimal(0)
            line = OrderLine(
                item_id=digits(rng, 14),
                product=product,
                quantity=quantity,
                tax=Decimal(0),
                shipping=line_shipping,
            )
            line.tax = quantize(
                (line.item_total + line.shipping) * seller.profile.tax_rate, currency
            )
            lines.append(line)
        buyer = fake_person(rng, seller.marketplace.country)
        relay = token(rng, 16, "abcdefghijklmnopqrstuvwxyz0123456789")
        return Order(
            id=self.order_id(),
            seller_id=seller.id,
            marketplace=seller.marketplace,
            created=created,
            updated=created,
            status="UNSHIPPED",
            fulfilled_by="AMAZON" if fba else "MERCHANT",
            prime=prime,
            buyer=buyer,
            buyer_email=f"{relay}@marketplace.amazon.{_mail_tld(seller.marketplace.country)}",
            lines=lines,
        )

    # -- money movements ---------------------------------------------------------------------
    def _txn(
        self,
        kind: str,
        description: str,
        posted: datetime,
        parts: list[Breakdown],
        order: Order | None = None,
        lines: list[OrderLine] | None = None,
    ) -> Transaction:
        total = sum((b.amount for b in parts), Decimal(0))
        return Transaction(
            id=token(self.rng, 43, URLSAFE),
            seller_id=self.seller.id,
            marketplace=self.seller.marketplace,
            type=kind,
            description=description,
            posted=posted,
            total=total,
            breakdowns=parts,
            order=order,
            lines=list(lines or []),
            lagged=self.rng.random() < 0.5,
        )

    def shipment(self, order: Order, posted: datetime) -> Transaction:
        cur = order.currency
        profile = self.seller.profile
        principal = sum((line.item_total for line in order.lines), Decimal(0))
        shipping = sum((line.shipping for line in order.lines), Decimal(0))
        tax = sum((line.tax for line in order.lines), Decimal(0))
        referral = quantize(principal * profile.referral_rate, cur)
        sales = [Breakdown("Product Charges", principal)]
        if shipping:
            sales.append(Breakdown("Shipping", shipping))
        sales.append(Breakdown("Tax", tax))
        expenses = [Breakdown("Amazon Fees", -referral)]
        if order.fulfilled_by == "AMAZON":
            low, high = profile.fba_fee_range
            units = sum(line.quantity for line in order.lines)
            per_unit = quantize(low + (high - low) * Decimal(str(round(self.rng.random(), 3))), cur)
            expenses.append(Breakdown("FBA fees", -per_unit * units))
        parts = [
            Breakdown("Sales", principal + shipping + tax, sales),
            Breakdown("Expenses", sum((b.amount for b in expenses), Decimal(0)), expenses),
        ]
        return self._txn("Shipment", "Order Payment", posted, parts, order, order.lines)

    def refund(self, order: Order, posted: datetime) -> Transaction:
        cur = order.currency
        lines = order.lines if len(order.lines) == 1 or self.rng.random() < 0.5 else order.lines[:1]
        principal = sum((line.item_total for line in lines), Decimal(0))
        tax = sum((line.tax for line in lines), Decimal(0))
        # Amazon keeps part of the referral fee on a refund (its "refund administration fee");
        # 20% here is an approximation of the Seller Central fee schedule.
        referral_back = quantize(
            principal * self.seller.profile.referral_rate * Decimal("0.8"), cur
        )
        parts = [
            Breakdown(
                "Sales",
                -(principal + tax),
                [Breakdown("Product Charges", -principal), Breakdown("Tax", -tax)],
            ),
            Breakdown("Expenses", referral_back, [Breakdown("Amazon Fees", referral_back)]),
        ]
        return self._txn("Refund", "Refund Order", posted, parts, order, lines)

    def service_fee(self, posted: datetime) -> Transaction:
        fee = self.seller.profile.subscription_fee
        parts = [Breakdown("Expenses", -fee, [Breakdown("Subscription Fee", -fee)])]
        return self._txn("ServiceFee", "Subscription Fee", posted, parts)

    def adjustment(self, posted: datetime) -> Transaction:
        cur = self.seller.currency
        scale = Decimal(150) if cur == "JPY" else Decimal(1)
        amount = quantize(Decimal(self.rng.randint(500, 6000)) / 100 * scale, cur)
        parts = [
            Breakdown("Reimbursements", amount, [Breakdown("FBA Inventory Reimbursement", amount)])
        ]
        return self._txn("Adjustment", "FBA Inventory Reimbursement", posted, parts)

    def transfer(self, amount: Decimal, posted: datetime) -> Transaction:
        parts = [Breakdown("Transfers", -amount, [Breakdown("Disbursement", -amount)])]
        txn = self._txn("Transfer", "Disbursement to bank account", posted, parts)
        txn.disbursement_id = digits(self.rng, 11)
        return txn


def _mail_tld(country: str) -> str:
    return {"US": "com", "JP": "co.jp", "DE": "de"}[country]


def seed_history(
    seed: int, seller: Seller, anchor: datetime
) -> tuple[list[Order], list[Transaction], str]:
    """Seven months of history ending at ``anchor``; returns orders, transactions, open group id."""
    rng = random.Random(f"{seed}:amazon:history:{seller.index}")
    seeder = SellerSeeder(seller, rng)
    start = anchor - timedelta(days=HISTORY_DAYS)
    orders: list[Order] = []
    txns: list[Transaction] = []
    for day, count in daily_counts(rng, start.date(), anchor.date(), ORDERS_PER_MONTH):
        midnight = datetime(day.year, day.month, day.day, tzinfo=anchor.tzinfo)
        for created in times_in_day(rng, midnight, count):
            order = seeder.new_order(created)
            orders.append(order)
            _settle_seeded(seeder, rng, order, anchor, txns)
        if day.day == 1:
            txns.append(seeder.service_fee(midnight + timedelta(hours=8)))
        if rng.random() < 0.7 / 30:
            txns.append(seeder.adjustment(midnight + timedelta(seconds=rng.randrange(86_400))))
    txns.sort(key=lambda t: (t.posted, t.id))
    open_group = _settle_groups(
        seeder, random.Random(f"{seed}:amazon:groups:{seller.index}"), txns, start, anchor
    )
    return orders, txns, open_group


def _settle_seeded(
    seeder: SellerSeeder,
    rng: random.Random,
    order: Order,
    anchor: datetime,
    txns: list[Transaction],
) -> None:
    created = order.created
    if rng.random() < CANCEL_RATE:
        order.status = "CANCELLED"
        order.updated = min(created + timedelta(minutes=rng.randint(30, 600)), anchor)
        return
    shipped = created + timedelta(minutes=rng.randint(240, 2400))
    if shipped >= anchor:
        order.status = "UNSHIPPED" if anchor - created > timedelta(minutes=30) else "PENDING"
        return
    order.status = "SHIPPED"
    order.updated = shipped
    txns.append(seeder.shipment(order, shipped))
    if rng.random() < REFUND_RATE:
        refunded = shipped + timedelta(minutes=rng.randint(2 * 1440, 25 * 1440))
        if refunded < anchor:
            txns.append(seeder.refund(order, refunded))


def _settle_groups(
    seeder: SellerSeeder,
    rng: random.Random,
    txns: list[Transaction],
    start: datetime,
    anchor: datetime,
) -> str:
    """Every 14 days the balance is disbursed: a Transfer closes each financial event group."""
    transfers: list[Transaction] = []
    boundary = start + timedelta(days=SETTLEMENT_DAYS)
    index = 0
    while True:
        group_id = token(rng, 43, URLSAFE)
        members = []
        while index < len(txns) and (boundary > anchor or txns[index].posted < boundary):
            members.append(txns[index])
            index += 1
        for txn in members:
            txn.group_id = group_id
        if boundary > anchor:
            txns.extend(transfers)
            txns.sort(key=lambda t: (t.posted, t.id))
            return group_id
        balance = sum((t.total for t in members), Decimal(0))
        if balance > 0:
            transfer = seeder.transfer(balance, boundary - timedelta(seconds=1))
            transfer.group_id = group_id
            transfer.lagged = False
            transfers.append(transfer)
        boundary += timedelta(days=SETTLEMENT_DAYS)
