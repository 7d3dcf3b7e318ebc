"""Stored payload text and hashes: exact, stable across the writer's rewrite."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from normalizer.context import MappingContext
from normalizer.errors import MappingError
from normalizer.registry import get_mapping
from normalizer.schema import (
    CanonicalRecord,
    Order,
    OrderStatus,
    Transaction,
    TransactionStatus,
    TransactionType,
)
from tests.emulator_records import amazon_records, stripe_records
from tests.warehouse.test_driver_rows import _records
from warehouse.driver_rows import Dialect
from warehouse.fingerprints import (
    canonical_content,
    content_hash,
    content_text,
    payload_hash,
    payload_text,
)
from warehouse.page_prep import entity_plan, prepare_row
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


# ------------------------------------------- one-pass row parts (warehouse/row_parts.py)


def _one_by_one(record: CanonicalRecord, dialect: Dialect) -> tuple[str, tuple[Any, ...]]:
    """What the page writer computed before the one-pass function: the views in turn."""
    content = canonical_content(record)
    fields = entity_plan(record.entity, dialect).field_values(record.__dict__)
    return content_hash(content), fields


def _one_pass(record: CanonicalRecord, dialect: Dialect) -> tuple[str, tuple[Any, ...]]:
    row = prepare_row(record, dialect, None)
    return row.content_hash, row.fields


DIALECTS = [Dialect.named("sqlite"), Dialect.named("postgresql")]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@pytest.mark.parametrize("record", _more_records(), ids=lambda r: f"{r.entity}-{r.external_id}")
def test_one_pass_row_parts_match_the_one_by_one_views(
    record: CanonicalRecord, dialect: Dialect
) -> None:
    assert entity_plan(record.entity, dialect).row_parts(record.__dict__) is not None
    assert _one_pass(record, dialect) == _one_by_one(record, dialect)
    assert _one_pass(record, dialect)[0] == _reference_hash(canonical_content(record))


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_one_pass_row_parts_match_on_every_emulator_record(dialect: Dialect) -> None:
    checked = 0
    for platform, records in (("stripe", stripe_records()), ("amazon", amazon_records())):
        context = MappingContext(platform=platform, buyer_hash_key=b"k" * 32)
        for stream, raw in records:
            try:
                mapped = get_mapping(platform, stream)(raw, context)
            except MappingError:  # orders fetched without their included data
                continue
            for record in mapped:
                assert _one_pass(record, dialect) == _one_by_one(record, dialect), record
                checked += 1
    assert checked > 1000


_ZERO_OFFSETS = st.sampled_from([UTC, timezone(timedelta(0)), timezone(timedelta(0), "UTC")])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    amount=st.decimals(allow_nan=False, allow_infinity=False),
    when=st.datetimes(timezones=_ZERO_OFFSETS),
    description=st.one_of(st.none(), st.text(), st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{0,4})?")),
    external_id=st.from_regex(r"[a-z0-9._-]{1,20}", fullmatch=True),
)
def test_one_pass_row_parts_match_on_any_transaction(
    amount: Decimal, when: datetime, description: str | None, external_id: str
) -> None:
    record = Transaction(external_id=external_id, type=TransactionType.FEE, occurred_at=when,
                         currency="USD", amount=amount, description=description)  # fmt: skip
    for dialect in DIALECTS:
        assert _one_pass(record, dialect) == _one_by_one(record, dialect)


def test_a_field_of_an_unknown_class_falls_back_to_the_one_by_one_views() -> None:
    when = datetime(2026, 1, 2, tzinfo=UTC)
    record = Transaction.model_construct(
        external_id="t", type=TransactionType.FEE, occurred_at=when, currency="USD",
        amount=Decimal("1"), status=TransactionStatus.PENDING, description=3.5,
        related_order_external_id=None, related_payout_external_id=None, updated_at=None,
    )  # fmt: skip
    dialect = DIALECTS[0]
    assert entity_plan("transactions", dialect).row_parts(record.__dict__) is None
    assert _one_pass(record, dialect) == _one_by_one(record, dialect)
