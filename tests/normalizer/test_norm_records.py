from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from norm_helpers import FIXTURES

from normalizer.errors import MappingError
from normalizer.records import build, canonical_to_json, iter_raw_records
from normalizer.schema import Dispute, DisputeStatus, Order, OrderStatus, Payout, PayoutStatus


def test_canonical_to_json_shapes_every_type() -> None:
    order = Order(
        external_id="o-1",
        placed_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        status=OrderStatus.PAID,
        channel="stripe",
        currency="usd",
        gross=Decimal("1E+2"),
        net=Decimal("99.50"),
    )
    out = canonical_to_json(order)
    assert out["entity"] == "orders" and out["external_id"] == "o-1"
    assert out["placed_at"] == "2024-01-02T03:04:05Z"
    assert out["status"] == "paid"
    assert out["currency"] == "USD"
    assert out["gross"] == "100"  # never exponent notation
    assert out["net"] == "99.50"
    assert out["buyer_key"] is None and "updated_at" in out
    assert set(out) == {"entity", *Order.model_fields}
    json.dumps(out)  # plain JSON


def test_canonical_to_json_dates_and_optional_enums() -> None:
    payout = Payout(
        external_id="po_1",
        created_at=datetime(2024, 1, 2, tzinfo=UTC),
        arrival_date=date(2024, 1, 4),
        currency="EUR",
        amount=Decimal("0.10"),
        status=PayoutStatus.IN_TRANSIT,
    )
    assert canonical_to_json(payout)["arrival_date"] == "2024-01-04"
    dispute = Dispute(
        external_id="dp_1",
        opened_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(0))),
        currency="USD",
        amount=Decimal(5),
        status=DisputeStatus.UNDER_REVIEW,
    )
    out = canonical_to_json(dispute)
    assert out["outcome"] is None and out["status"] == "under_review"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_pages_in_their_platform_envelopes() -> None:
    orders = list(iter_raw_records("amazon", "orders", FIXTURES / "amazon/orders_page.json"))
    assert [o["orderId"] for o in orders] == [
        "111-0000001-0000001", "111-0000002-0000002", "250-0000003-0000003"
    ]  # fmt: skip
    v0 = list(iter_raw_records("amazon", "orders", FIXTURES / "amazon/orders_v0_page.json"))
    assert [o["AmazonOrderId"] for o in v0] == ["112-0000010-0000010", "112-0000011-0000011"]
    txns = list(
        iter_raw_records("amazon", "transactions", FIXTURES / "amazon/transactions_page.json")
    )
    assert len(txns) == 9
    assert isinstance(txns[0]["totalAmount"]["currencyAmount"], Decimal)  # never float
    accounts = list(
        iter_raw_records("amazon", "account", FIXTURES / "amazon/marketplace_participations.json")
    )
    assert len(accounts) == 3
    charges = list(iter_raw_records("stripe", "charges", FIXTURES / "stripe/charges.json"))
    assert len(charges) == 5
    single = list(iter_raw_records("stripe", "account", FIXTURES / "stripe/account.json"))
    assert [a["id"] for a in single] == ["acct_quillink"]


def test_get_order_response_and_a_bare_record(tmp_path: Path) -> None:
    page = _write(tmp_path, "o.json", '{"order": {"orderId": "1"}}')
    assert list(iter_raw_records("amazon", "orders", page)) == [{"orderId": "1"}]
    bare = _write(
        tmp_path, "t.json", '{"transactionId": "T", "totalAmount": {"currencyAmount": 1.10}}'
    )
    (record,) = iter_raw_records("amazon", "transactions", bare)
    assert record["totalAmount"]["currencyAmount"] == Decimal("1.10")


def test_jsonl_raw_and_airbyte_lines(tmp_path: Path) -> None:
    lines = "\n".join(
        [
            '{"id": "ch_1", "object": "charge", "amount": 100}',
            "",
            '{"stream": "charges", "data": {"id": "ch_2", "amount": 5300.0}, "emitted_at": 1}',
            '{"stream": "refunds", "data": {"id": "re_1"}, "emitted_at": 1}',
            '{"type": "RECORD", "record": {"stream": "charges", "data": {"id": "ch_3"}}}',
        ]
    )
    records = list(iter_raw_records("stripe", "charges", _write(tmp_path, "r.jsonl", lines)))
    assert [r["id"] for r in records] == ["ch_1", "ch_2", "ch_3"]
    assert records[1]["amount"] == Decimal("5300.0")


def test_airbyte_stream_names_match_loosely(tmp_path: Path) -> None:
    lines = (
        '{"stream": "accounts", "data": {"id": "acct_1"}}\n'
        '{"stream": "Orders", "data": {"AmazonOrderId": "1"}}\n'
    )
    path = _write(tmp_path, "a.jsonl", lines)
    assert [r["id"] for r in iter_raw_records("stripe", "account", path)] == ["acct_1"]
    assert [r["AmazonOrderId"] for r in iter_raw_records("amazon", "orders", path)] == ["1"]


def test_error_responses_and_bad_lines_are_reported(tmp_path: Path) -> None:
    error = _write(tmp_path, "e.json", '{"errors": [{"code": "InvalidInput", "message": "x"}]}')
    with pytest.raises(ValueError, match="error response"):
        list(iter_raw_records("amazon", "orders", error))
    broken = _write(tmp_path, "b.jsonl", '{"id": "ch_1"}\n{"id": \n')
    with pytest.raises(ValueError, match="line 2"):
        list(iter_raw_records("stripe", "charges", broken))


@pytest.mark.parametrize(
    ("placed_at", "problem"),
    [
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=1))), "offset of 0"),
        (datetime(2024, 1, 2, 3, 4, 5), "timezone"),
        ("2024-01-02T03:04:05-05:00", "offset of 0"),
    ],
)
def test_canonical_times_must_be_utc(placed_at: object, problem: str) -> None:
    with pytest.raises(MappingError, match=rf"orders: placed_at: .*{problem}"):
        build(Order, external_id="o-1", placed_at=placed_at, status=OrderStatus.PAID,
              channel="stripe", currency="USD", gross=Decimal(1), net=Decimal(1))  # fmt: skip


@pytest.mark.parametrize(
    "placed_at",
    [
        datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(0))),
        "2024-01-02T03:04:05Z",
    ],
)
def test_canonical_times_in_utc_are_kept_as_given(placed_at: object) -> None:
    order = build(Order, external_id="o-1", placed_at=placed_at, status=OrderStatus.PAID,
                  channel="stripe", currency="USD", gross=Decimal(1), net=Decimal(1))  # fmt: skip
    assert order.placed_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert order.placed_at.utcoffset() == timedelta(0)
