"""The Amazon world's records, before they are rendered in the API's shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sandbox.amazon.facts import Marketplace, Product, SellerProfile
from sandbox.common.people import Person


@dataclass(frozen=True)
class Seller:
    id: str
    index: int
    profile: SellerProfile
    marketplace: Marketplace
    products: tuple[Product, ...]

    @property
    def currency(self) -> str:
        return self.marketplace.currency


@dataclass
class OrderLine:
    item_id: str
    product: Product
    quantity: int
    tax: Decimal
    shipping: Decimal

    @property
    def item_total(self) -> Decimal:
        return self.product.price * self.quantity

    @property
    def proceeds_total(self) -> Decimal:
        return self.item_total + self.tax + self.shipping


@dataclass
class Order:
    id: str
    seller_id: str
    marketplace: Marketplace
    created: datetime
    updated: datetime
    status: str
    fulfilled_by: str  # AMAZON (FBA) or MERCHANT
    prime: bool
    buyer: Person
    buyer_email: str
    lines: list[OrderLine]

    @property
    def currency(self) -> str:
        return self.marketplace.currency

    @property
    def grand_total(self) -> Decimal:
        return sum((line.proceeds_total for line in self.lines), Decimal(0))


@dataclass
class Breakdown:
    type: str
    amount: Decimal
    children: list[Breakdown] = field(default_factory=list)


@dataclass
class Transaction:
    id: str
    seller_id: str
    marketplace: Marketplace
    type: str  # Shipment, Refund, ServiceFee, Adjustment, Transfer
    description: str
    posted: datetime
    total: Decimal
    breakdowns: list[Breakdown]
    order: Order | None = None
    lines: list[OrderLine] = field(default_factory=list)
    group_id: str | None = None
    disbursement_id: str | None = None
    lagged: bool = False  # may show up late when posted in the last 48 hours

    @property
    def currency(self) -> str:
        return self.marketplace.currency
