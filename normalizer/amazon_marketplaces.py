"""Amazon marketplace ids -> the marketplace's currency.

Used only when an order carries no amount of its own (v0 Pending/Canceled orders have no
OrderTotal), so that such orders still map with the right currency and a zero total.
Source: https://developer-docs.amazon.com/sp-api/docs/marketplace-ids
"""

from __future__ import annotations

from typing import Final

MARKETPLACE_CURRENCY: Final[dict[str, str]] = {
    # North America
    "ATVPDKIKX0DER": "USD",  # United States
    "A2EUQ1WTGCTBG2": "CAD",  # Canada
    "A1AM78C64UM0Y8": "MXN",  # Mexico
    "A2Q3Y263D00KWC": "BRL",  # Brazil
    # Europe, Middle East, Africa, India
    "A28R8C7NBKEWEA": "EUR",  # Ireland
    "A1RKKUPIHCS9HS": "EUR",  # Spain
    "A1F83G8C2ARO7P": "GBP",  # United Kingdom
    "A13V1IB3VIYZZH": "EUR",  # France
    "AMEN7PMS3EDWL": "EUR",  # Belgium
    "A1805IZSGTT6HS": "EUR",  # Netherlands
    "A1PA6795UKMFR9": "EUR",  # Germany
    "APJ6JRA9NG5V4": "EUR",  # Italy
    "A2NODRKZP88ZB9": "SEK",  # Sweden
    "AE08WJ6YKNBMC": "ZAR",  # South Africa
    "A1C3SOZRARQ6R3": "PLN",  # Poland
    "ARBP9OOSHTCHU": "EGP",  # Egypt
    "A33AVAJ2PDY3EV": "TRY",  # Turkey
    "A17E79C6D8DWNP": "SAR",  # Saudi Arabia
    "A2VIGQ35RCS4UG": "AED",  # United Arab Emirates
    "A21TJRUUN4KGV": "INR",  # India
    # Far East
    "A19VAU5U5O7RUS": "SGD",  # Singapore
    "A39IBJ37TRP1C6": "AUD",  # Australia
    "A1VC38T7YXB528": "JPY",  # Japan
}
