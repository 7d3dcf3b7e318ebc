"""Amazon SP-API facts the emulator reproduces (each with its documentation source)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sandbox.common.grants import TokenFormat
from sandbox.common.ratelimit import Limit


@dataclass(frozen=True)
class Marketplace:
    id: str
    name: str
    country: str
    currency: str
    language: str
    domain: str
    region: str


# https://developer-docs.amazon.com/sp-api/docs/marketplace-ids
MARKETPLACES = {
    m.id: m
    for m in (
        Marketplace("ATVPDKIKX0DER", "Amazon.com", "US", "USD", "en_US", "www.amazon.com", "NA"),
        Marketplace(
            "A1VC38T7YXB528", "Amazon.co.jp", "JP", "JPY", "ja_JP", "www.amazon.co.jp", "FE"
        ),
        Marketplace("A1PN6F7K9HD6B2", "Amazon.de", "DE", "EUR", "de_DE", "www.amazon.de", "EU"),
        Marketplace("A13V1IB3VIYZZH", "Amazon.fr", "FR", "EUR", "fr_FR", "www.amazon.fr", "EU"),
        Marketplace("APJ6JRA9NG5V4", "Amazon.it", "IT", "EUR", "it_IT", "www.amazon.it", "EU"),
    )
}

# Usage plans ("rate rps / burst") from each operation's description in the official models:
# orders_2026-01-01.json searchOrders, finances_2024-06-19.json listTransactions,
# sellers.json getMarketplaceParticipations.
PRODUCTION_LIMITS = {
    "searchOrders": Limit(0.0056, 20),
    "listTransactions": Limit(0.5, 10),
    "getMarketplaceParticipations": Limit(0.016, 15),
}
# Sandbox endpoints, all operations: https://developer-docs.amazon.com/sp-api/docs/sp-api-sandbox
SANDBOX_LIMIT = Limit(5.0, 15)

# LWA: https://developer-docs.amazon.com/sp-api/docs/connecting-to-the-selling-partner-api
TOKENS = TokenFormat(code_prefix="ANDM", access_prefix="Atza|", refresh_prefix="Atzr|")
LWA_CLIENT_PREFIX = "amzn1.application-oa2-client."
ACCESS_TOKEN_LIFETIME = 3600

# Finances: "Financial events might not include orders from the last 48 hours."
# (finances_2024-06-19.json, listTransactions description)
FINANCE_LAG_WINDOW_HOURS = 48
# listFinancialEvents / listTransactions: postedAfter..postedBefore at most 180 days apart.
MAX_POSTED_WINDOW_DAYS = 180
# searchOrders pagination tokens expire after 24 hours (orders_2026-01-01.json, Pagination).
PAGE_TOKEN_HOURS = 24
TRANSACTIONS_PAGE_SIZE = 100


@dataclass(frozen=True)
class Product:
    asin: str
    sku: str
    title: str
    price: Decimal


@dataclass(frozen=True)
class SellerProfile:
    store_name: str
    marketplace_id: str
    other_marketplaces: tuple[str, ...]
    tax_rate: Decimal
    referral_rate: Decimal
    mfn_shipping: Decimal
    fba_fee_range: tuple[Decimal, Decimal]
    subscription_fee: Decimal
    catalog: tuple[tuple[str, str], ...]  # (title, price) pairs


SELLERS = (
    SellerProfile(
        store_name="Cascade Kitchenworks",
        marketplace_id="ATVPDKIKX0DER",
        other_marketplaces=(),
        tax_rate=Decimal("0.0725"),
        referral_rate=Decimal("0.15"),
        mfn_shipping=Decimal("5.99"),
        fba_fee_range=(Decimal("3.22"), Decimal("6.10")),
        subscription_fee=Decimal("39.99"),
        catalog=(
            ("Cast Iron Skillet 10 inch, Pre-Seasoned", "24.99"),
            ("Bamboo Cutting Board Set (3 pieces)", "29.95"),
            ("Stainless Steel Measuring Cups, 6-Piece", "15.49"),
            ("Silicone Baking Mats, Half Sheet, 2-Pack", "12.99"),
            ("Chef's Knife 8 inch, High Carbon Steel", "39.00"),
            ("Pour-Over Coffee Kettle, Gooseneck 1L", "34.50"),
            ("Glass Meal Prep Containers, 10-Pack", "42.99"),
            ("Digital Kitchen Scale with Tare", "18.75"),
            ("Enameled Dutch Oven 5.5 Quart", "79.99"),
            ("Herb Keeper, Fresh Herb Storage", "21.00"),
            ("Olive Wood Serving Spoons, Set of 4", "27.40"),
            ("Mandoline Slicer with Safety Glove", "32.99"),
        ),
    ),
    SellerProfile(
        store_name="Sakura Stationery",
        marketplace_id="A1VC38T7YXB528",
        other_marketplaces=(),
        tax_rate=Decimal("0.10"),
        referral_rate=Decimal("0.10"),
        mfn_shipping=Decimal("500"),
        fba_fee_range=(Decimal("290"), Decimal("514")),
        subscription_fee=Decimal("4900"),
        catalog=(
            ("Gel Ink Pen 0.5mm, 10 Colors", "1480"),
            ("A5 Dot Grid Notebook, Lay-Flat", "1100"),
            ("Washi Tape Set, Seasonal Flowers", "980"),
            ("Fountain Pen, Medium Nib, Navy", "3850"),
            ("Letter Set with Envelopes, Cherry Blossom", "660"),
            ("Mechanical Pencil 0.3mm, Metal Grip", "1650"),
            ("Desk Organizer, Walnut", "5980"),
            ("Sticky Notes Assortment, 12 Pads", "770"),
            ("Brush Pen Set for Calligraphy", "2420"),
            ("Leather Notebook Cover, A6", "4400"),
        ),
    ),
    SellerProfile(
        store_name="Nordlicht Outdoor",
        marketplace_id="A1PN6F7K9HD6B2",
        other_marketplaces=("A13V1IB3VIYZZH", "APJ6JRA9NG5V4"),
        tax_rate=Decimal("0.19"),
        referral_rate=Decimal("0.15"),
        mfn_shipping=Decimal("4.99"),
        fba_fee_range=(Decimal("2.70"), Decimal("5.45")),
        subscription_fee=Decimal("39.00"),
        catalog=(
            ("Trekking Poles, Aluminium, Pair", "49.90"),
            ("Merino Wool Hiking Socks, 3 Pairs", "24.95"),
            ("Ultralight Down Jacket, Packable", "119.00"),
            ("Headlamp 400 Lumen, Rechargeable", "29.99"),
            ("Insulated Water Bottle 750 ml", "22.50"),
            ("Camping Stove, Compact Gas", "39.95"),
            ("Rain Poncho with Hood", "17.99"),
            ("Daypack 22 L, Waterproof", "64.00"),
            ("Sleeping Bag Liner, Silk", "44.90"),
            ("First Aid Kit, Outdoor, 120 Pieces", "19.49"),
            ("Camping Mug Set, Enamel, 4 Pieces", "26.00"),
        ),
    ),
)

# Orders v2026-01-01 FulfillmentStatus enum (orders_2026-01-01.json, FulfillmentStatus).
FULFILLMENT_STATUSES = (
    "PENDING_AVAILABILITY",
    "PENDING",
    "UNSHIPPED",
    "PARTIALLY_SHIPPED",
    "SHIPPED",
    "CANCELLED",
    "UNFULFILLABLE",
)
INCLUDED_DATA = (
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "EXPENSE",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
    "TAX",
    "PAYMENT",
    "FULFILLMENT_ORDERS",
)
