"""``sellerhub normalize PLATFORM STREAM FILE``: a raw page in, canonical JSON lines out.

Usage errors exit 2 with exactly one line on stderr; a record that cannot be mapped is
reported on stderr as quarantined while the others are still printed.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from .conftest import Invoke, Outcome
from .payloads import amazon_order, amazon_search_orders, stripe_charge, stripe_list

RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
DECIMAL_TEXT = re.compile(r"^-?\d+(\.\d+)?$")
MONEY_FIELDS = {"gross", "tax", "shipping", "discount", "net", "unit_price", "line_total", "amount"}
TIME_FIELDS = {"placed_at", "updated_at", "created_at", "occurred_at", "opened_at"}


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def records_of(outcome: Outcome) -> list[dict[str, Any]]:
    assert outcome.code == 0, outcome.stderr
    lines = [line for line in outcome.stdout.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    for record in records:
        assert record["entity"] and record["external_id"]
        for name, value in record.items():
            if name in MONEY_FIELDS:
                assert isinstance(value, str) and DECIMAL_TEXT.match(value), (name, value)
            if name in TIME_FIELDS and value is not None:
                assert isinstance(value, str) and RFC3339_Z.match(value), (name, value)
            if name.endswith("currency") and value is not None:
                assert value == value.upper() and len(value) == 3, (name, value)
    return records


def by_id(records: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["entity"], r["external_id"]): r for r in records}


def utc_z(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("platform", "stream", "hint"),
    [("ebay", "orders", "amazon"), ("stripe", "chargez", "charges")],
    ids=["unknown-platform", "unknown-stream"],
)
def test_unknown_platform_or_stream_is_a_usage_error(
    sellerhub: Invoke, tmp_path: Path, platform: str, stream: str, hint: str
) -> None:
    page = write_json(tmp_path / "page.json", stripe_list())

    outcome = sellerhub("normalize", platform, stream, str(page))

    assert outcome.code == 2
    assert outcome.stdout == ""
    assert len(outcome.stderr_lines) == 1, outcome.stderr
    line = outcome.stderr_lines[0]
    assert line.startswith("error:") and repr(stream if platform == "stripe" else platform) in line
    assert hint in line  # names what is known


@pytest.mark.parametrize(
    "name",
    ["missing.json", "[bold]odd[/] name.json", "very-long-" + "x" * 200 + ".json"],
    ids=["plain", "brackets", "long"],
)
def test_missing_file_is_a_usage_error_on_one_line(
    sellerhub_in_process: Invoke, tmp_path: Path, name: str
) -> None:
    missing = tmp_path / name

    outcome = sellerhub_in_process("normalize", "stripe", "charges", str(missing))

    assert outcome.code == 2
    assert outcome.stdout == ""
    assert outcome.stderr_lines == [f"error: {missing}: no such file"]


def test_missing_file_from_the_installed_command(sellerhub: Invoke, tmp_path: Path) -> None:
    missing = tmp_path / "[red]no such[/] page.json"

    outcome = sellerhub("normalize", "amazon", "orders", str(missing))

    assert (outcome.code, outcome.stdout) == (2, "")
    assert outcome.stderr_lines == [f"error: {missing}: no such file"]


def test_a_file_that_is_not_json_is_a_usage_error(
    sellerhub_in_process: Invoke, tmp_path: Path
) -> None:
    page = tmp_path / "page.json"
    page.write_text('{"object": "list", "data": [\n{"id": ', encoding="utf-8")

    outcome = sellerhub_in_process("normalize", "stripe", "charges", str(page))

    assert outcome.code == 2
    assert outcome.stdout == ""
    assert len(outcome.stderr_lines) == 1 and "not JSON" in outcome.stderr


def test_stripe_list_page(sellerhub: Invoke, tmp_path: Path) -> None:
    page = write_json(
        tmp_path / "charges.json",
        stripe_list(
            stripe_charge("ch_cli_usd", 2599, "usd", 1718000000, refunded=500),
            stripe_charge("ch_cli_jpy", 1500, "jpy", 1718003600, country="JP"),
        ),
    )

    outcome = sellerhub("normalize", "stripe", "charges", str(page))

    records = by_id(records_of(outcome))
    assert set(records) == {("orders", "ch_cli_usd"), ("orders", "ch_cli_jpy")}
    usd = records["orders", "ch_cli_usd"]
    # Stripe amounts are in the smallest unit: cents for USD, yen for JPY (zero-decimal)
    assert Decimal(usd["gross"]) == Decimal("25.99")
    assert Decimal(usd["net"]) == Decimal("20.99")  # less the refunded 5.00
    assert usd["currency"] == "USD"
    assert usd["placed_at"] == utc_z(1718000000)
    jpy = records["orders", "ch_cli_jpy"]
    assert Decimal(jpy["gross"]) == Decimal(1500) and jpy["currency"] == "JPY"
    assert jpy["placed_at"] == utc_z(1718003600)
    # no buyer PII in the output, only a keyed hash
    assert "example.com" not in outcome.stdout and "A Buyer" not in outcome.stdout
    assert outcome.stderr == ""


def test_amazon_search_orders_page(sellerhub: Invoke, tmp_path: Path) -> None:
    page = write_json(
        tmp_path / "orders.json",
        amazon_search_orders(
            amazon_order(
                "302-1111111-1111111", "2026-03-01T10:04:05+01:00", "EUR", item="41.18", tax="7.82"
            ),
            amazon_order(
                "250-2222222-2222222",
                "2026-03-02T23:30:00-08:00",
                "JPY",
                item="1800",
                tax="180",
                quantity=2,
                marketplace=("A1VC38T7YXB528", "Amazon.co.jp"),
            ),
            next_token="more-pages-follow",
        ),
    )

    outcome = sellerhub("normalize", "amazon", "orders", str(page))

    records = by_id(records_of(outcome))
    eur = records["orders", "302-1111111-1111111"]
    assert (Decimal(eur["gross"]), Decimal(eur["tax"]), eur["currency"]) == (
        Decimal("49.00"),
        Decimal("7.82"),
        "EUR",
    )
    assert eur["placed_at"] == "2026-03-01T09:04:05Z"  # +01:00 moved to UTC
    jpy = records["orders", "250-2222222-2222222"]
    assert (Decimal(jpy["gross"]), jpy["currency"]) == (Decimal(1980), "JPY")
    assert jpy["placed_at"] == "2026-03-03T07:30:00Z"  # -08:00 crosses midnight
    line = records["order_lines", "250-2222222-2222222-1"]
    assert line["order_external_id"] == "250-2222222-2222222"
    assert (line["quantity"], Decimal(line["line_total"]), line["currency"]) == (
        2,
        Decimal(1800),
        "JPY",
    )


def test_jsonl_records(sellerhub_in_process: Invoke, tmp_path: Path) -> None:
    charges = [
        stripe_charge("ch_line_1", 1000, "eur", 1700000000),
        stripe_charge("ch_line_2", 5, "usd", 1700000001),
    ]
    page = tmp_path / "charges.jsonl"
    page.write_text("\n".join(json.dumps(c) for c in charges) + "\n\n", encoding="utf-8")

    outcome = sellerhub_in_process("normalize", "stripe", "charges", str(page))

    records = by_id(records_of(outcome))
    assert Decimal(records["orders", "ch_line_1"]["gross"]) == Decimal("10.00")
    assert records["orders", "ch_line_1"]["currency"] == "EUR"
    assert Decimal(records["orders", "ch_line_2"]["gross"]) == Decimal("0.05")


def test_malformed_record_is_quarantined_and_the_rest_printed(
    sellerhub: Invoke, tmp_path: Path
) -> None:
    # the second charge has a fractional amount, which Stripe's smallest units never have
    page = tmp_path / "charges.json"
    page.write_text(
        json.dumps(
            stripe_list(
                stripe_charge("ch_good_1", 1200, "usd", 1700000000),
                stripe_charge("ch_bad", "AMOUNT", "usd", 1700000000),
                stripe_charge("ch_good_2", 3400, "usd", 1700000000),
            )
        ).replace('"AMOUNT"', "12.5"),
        encoding="utf-8",
    )

    outcome = sellerhub("normalize", "stripe", "charges", str(page))

    records = by_id(records_of(outcome))
    assert set(records) == {("orders", "ch_good_1"), ("orders", "ch_good_2")}
    assert len(outcome.stderr_lines) == 2, outcome.stderr
    quarantined, summary = outcome.stderr_lines
    assert quarantined.startswith("record 2: quarantined: amount")
    assert summary == "1 of 3 records quarantined"
