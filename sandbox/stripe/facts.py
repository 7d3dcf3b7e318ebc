"""Stripe facts the emulator reproduces (each with its documentation source)."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.common.grants import TokenFormat
from sandbox.common.ratelimit import Limit

# The spec subset in shared/reference is at this API version.
API_VERSION = "2023-08-16"

# Connect OAuth for Standard accounts: https://docs.stripe.com/connect/oauth-standard-accounts
TOKENS = TokenFormat(code_prefix="ac_", access_prefix="sk_test_", refresh_prefix="rt_")
CONNECT_CLIENT_PREFIX = "ca_"
PLATFORM_SECRET_PREFIX = "sk_test_"
SCOPES = ("read_only", "read_write")

# https://docs.stripe.com/rate-limits: live mode 100 requests/s, sandbox (test mode) 25/s,
# measured per account. No burst is documented: the bucket holds one second of requests.
LIVE_LIMIT = Limit(100.0, 100)
TEST_LIMIT = Limit(25.0, 25)
RATE_LIMIT_BUCKET = "api"

# https://docs.stripe.com/api/pagination
DEFAULT_PAGE = 10
MAX_PAGE = 100


@dataclass(frozen=True)
class AccountProfile:
    business_name: str
    country: str
    currency: str  # lower case, as Stripe sends it
    fee_percent: str  # card processing fee (decimal string)
    fee_fixed: int  # minor units
    dispute_fee: int  # minor units
    price_range: tuple[int, int]  # minor units
    product: str
    timezone: str
    mcc: str


ACCOUNTS = (
    AccountProfile(
        "Bluebird Ceramics",
        "US",
        "usd",
        "0.029",
        30,
        1500,
        (1800, 24000),
        "Handmade stoneware",
        "America/Los_Angeles",
        "5719",
    ),
    AccountProfile(
        "Kumo Tea House",
        "JP",
        "jpy",
        "0.036",
        0,
        1500,
        (1200, 18000),
        "Japanese tea and teaware",
        "Asia/Tokyo",
        "5499",
    ),
    AccountProfile(
        "Alpenrad Fahrradteile",
        "DE",
        "eur",
        "0.015",
        25,
        2000,
        (1500, 22000),
        "Bicycle parts and accessories",
        "Europe/Berlin",
        "5940",
    ),
)

DISPUTE_REASONS = ("fraudulent", "product_not_received", "product_unacceptable", "duplicate")
REFUND_REASONS = ("requested_by_customer", "duplicate", None)
