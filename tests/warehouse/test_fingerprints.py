"""Stored payload text and hashes: exact, stable across the writer's rewrite."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest

from normalizer.schema import CanonicalRecord, Order, OrderStatus, Transaction, TransactionType
from tests.warehouse.test_driver_rows import _records
from warehouse.fingerprints import (
    canonical_content,
    content_hash,
    content_text,
    payload_hash,
    payload_text,
)
from warehouse.types import loads_json


def _reference_content(record: CanonicalRecord) -> dict[str, Any]:
    """The content as the first writer computed it (model_dump, one value at a time)."""
    out: dict[str, Any] = {}
    for name, value in record.model_dump().items():
        if isinstance(value, Decimal):
            value = format(value, "f")
        elif isinstance(value, Enum):
            value = value.value
        elif isinstance(value, datetime):
            value = value.isoformat().replace("+00:00", "Z")
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        out[name] = value
    return out


def _reference_hash(content: dict[str, Any]) -> str:
    """The content hash every stored row carries (Decimal() tried on every string first)."""

    def normalize(value: str) -> str:
        try:
            number = Decimal(value)
        except ArithmeticError:
            return value
        if not number.is_finite() or not value.replace(".", "", 1).lstrip("-").isdigit():
            return value
        return format(number.normalize(), "f")

    normalized = {k: normalize(v) if isinstance(v, str) else v for k, v in content.items()}
    text = json.dumps(normalized, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _more_records() -> list[CanonicalRecord]:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return [
        *_records(),
        Order(external_id="007", placed_at=when, status=OrderStatus.OPEN, channel="1.50",
              currency="usd", gross=Decimal("1.500"), net=Decimal("0E-7")),
        Transaction(external_id="-12.0", type=TransactionType.SALE, occurred_at=when,
                    currency="EUR", amount=Decimal("-0.00"), description="ünïcode ✓ \u2028"),
        Transaction(external_id="--5", type=TransactionType.SALE, occurred_at=when,
                    currency="EUR", amount=Decimal("1E+3"), description="NaN"),
    ]  # fmt: skip


@pytest.mark.parametrize("record", _more_records(), ids=lambda r: f"{r.entity}-{r.external_id}")
def test_content_and_hash_are_the_ones_already_stored(record: CanonicalRecord) -> None:
    content = canonical_content(record)
    assert content == _reference_content(record)
    assert content_hash(content) == _reference_hash(content)
    assert json.loads(content_text(content)) == content


def test_equal_amounts_hash_equal() -> None:
    when = datetime(2026, 1, 2, tzinfo=UTC)

    def order(gross: str) -> Order:
        return Order(external_id="o", placed_at=when, status=OrderStatus.PAID, channel="c",
                     currency="USD", gross=Decimal(gross), net=Decimal(gross))  # fmt: skip

    assert content_hash(canonical_content(order("10.0"))) == content_hash(
        canonical_content(order("10.00"))
    )
    assert content_hash(canonical_content(order("10.0"))) != content_hash(
        canonical_content(order("10.01"))
    )


def test_payload_text_keeps_numbers_exact_and_keys_sorted() -> None:
    payload = {"z": Decimal("1.10"), "a": [Decimal("1E+2"), 3, None], "m": {"é": "ü"}}
    text = payload_text(payload)
    assert text == '{"a":[1E+2,3,null],"m":{"é":"ü"},"z":1.10}'.encode()
    assert loads_json(text) == payload
    assert str(loads_json(text)["z"]) == "1.10"


def test_payload_hash_follows_content_not_key_order() -> None:
    assert payload_hash({"a": 1, "b": Decimal("2.0")}) == payload_hash(
        {"b": Decimal("2.0"), "a": 1}
    )
    assert payload_hash({"a": Decimal("2.0")}) != payload_hash({"a": Decimal("2.00")})
