"""Shared test helpers for the normalizer tests (a uniquely named module, not a conftest)."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from normalizer.context import MappingContext

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# (platform, stream, page under FIXTURES): every recorded-shape page the tests read
FIXTURE_PAGES = [
    ("amazon", "orders", "amazon/orders_page.json"),
    ("amazon", "orders", "amazon/orders_v0_page.json"),
    ("amazon", "transactions", "amazon/transactions_page.json"),
    ("amazon", "account", "amazon/marketplace_participations.json"),
    ("stripe", "charges", "stripe/charges.json"),
    ("stripe", "balance_transactions", "stripe/balance_transactions.json"),
    ("stripe", "refunds", "stripe/refunds.json"),
    ("stripe", "payouts", "stripe/payouts.json"),
    ("stripe", "disputes", "stripe/disputes.json"),
    ("stripe", "account", "stripe/account.json"),
]
REFERENCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference"
TENANT_KEY = b"tenant-key-for-normalizer-tests!"


def ctx(platform: str, account_currency: str | None = None) -> MappingContext:
    return MappingContext(
        platform=platform, buyer_hash_key=TENANT_KEY, account_currency=account_currency
    )


def expected_buyer_key(normalised_identifier: str) -> str:
    """Computed here with hmac directly, independently of normalizer.pii."""
    digest = hmac.new(TENANT_KEY, normalised_identifier.encode(), hashlib.sha256).hexdigest()
    return "bk_" + digest


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


def fixture(platform: str, name: str) -> Any:
    return load_json(FIXTURES / platform / name)
