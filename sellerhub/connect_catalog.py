"""What the hub reads at each platform and why, in the seller's words (the connect page).

Each item names the connector streams it covers; a test checks that every stream a connector
syncs is declared here, so the consent page never under-states what is read.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReadItem:
    key: str  # stable name, recorded in the consent audit
    what: str
    why: str
    streams: tuple[str, ...]


@dataclass(frozen=True)
class PlatformConsent:
    platform: str
    label: str  # what the seller calls it
    reads: tuple[ReadItem, ...]
    never: str  # what the access cannot do
    # where the seller consents, when the platform has several consent sites
    # (OAuthFacts.consent_sites): (group label, ((site, what the seller picks), ...)), ...
    site_choices: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    @property
    def sites(self) -> frozenset[str]:
        return frozenset(site for _, choices in self.site_choices for site, _ in choices)

    @property
    def streams(self) -> frozenset[str]:
        return frozenset(stream for item in self.reads for stream in item.streams)

    @property
    def data_keys(self) -> str:
        return " ".join(item.key for item in self.reads)


CONSENT_DESCRIPTION: dict[str, PlatformConsent] = {
    "amazon": PlatformConsent(
        platform="amazon",
        label="Amazon Seller Central",
        reads=(
            ReadItem(
                "orders",
                "Your orders: dates, items, quantities, amounts and status. Buyer names and "
                "addresses are not kept.",
                "To measure your sales, their growth and seasonality.",
                ("orders",),
            ),
            ReadItem(
                "finances",
                "Your financial transactions: sales proceeds, Amazon fees, refunds, "
                "adjustments and disbursements.",
                "To see what you actually receive after fees and refunds.",
                ("transactions",),
            ),
            ReadItem(
                "account",
                "The marketplaces you sell in and your store's name.",
                "To know where you sell and in which currencies.",
                ("account",),
            ),
        ),
        never="It cannot change your listings, prices or orders, and cannot move money.",
        # the Seller Central the seller signs in to (connectors/amazon/facts.py CONSENT_SITES)
        site_choices=(
            (
                "North and South America",
                (
                    ("us", "United States"),
                    ("ca", "Canada"),
                    ("mx", "Mexico"),
                    ("br", "Brazil"),
                ),
            ),
            (
                "Europe, Middle East, Africa and India",
                (
                    ("europe", "UK, Germany, France, Italy or Spain"),
                    ("ie", "Ireland"),
                    ("nl", "Netherlands"),
                    ("be", "Belgium"),
                    ("se", "Sweden"),
                    ("pl", "Poland"),
                    ("tr", "Turkey"),
                    ("ae", "United Arab Emirates"),
                    ("sa", "Saudi Arabia"),
                    ("eg", "Egypt"),
                    ("za", "South Africa"),
                    ("in", "India"),
                ),
            ),
            (
                "Asia-Pacific",
                (("jp", "Japan"), ("au", "Australia"), ("sg", "Singapore")),
            ),
        ),
    ),
    "stripe": PlatformConsent(
        platform="stripe",
        label="Stripe",
        reads=(
            ReadItem(
                "payments",
                "Your payments (charges) and refunds. Card holders' details are not kept.",
                "To measure your sales and how often they are refunded.",
                ("charges", "refunds"),
            ),
            ReadItem(
                "balance",
                "Your balance transactions and payouts to your bank account.",
                "To see your cash flow: fees, reserves and what reaches your bank.",
                ("balance_transactions", "payouts"),
            ),
            ReadItem(
                "disputes",
                "Your disputes (chargebacks) and their outcome.",
                "To understand chargeback risk.",
                ("disputes",),
            ),
            ReadItem(
                "account",
                "Your account profile: business name, country and currency.",
                "To identify your business.",
                ("account",),
            ),
        ),
        # read_only scope (https://docs.stripe.com/connect/oauth-reference)
        never="Access is read-only: it cannot charge, refund or move money.",
    ),
}


def consent_for(platform: str) -> PlatformConsent | None:
    return CONSENT_DESCRIPTION.get(platform)
