from __future__ import annotations

import copy
import json

import pytest
from norm_helpers import FIXTURE_PAGES, FIXTURES, TENANT_KEY, ctx, expected_buyer_key, fixture

from normalizer.context import MappingContext
from normalizer.errors import MappingError
from normalizer.pii import REDACTION_TABLES, buyer_key, is_buyer_key, redact
from normalizer.records import iter_raw_records
from normalizer.registry import UnknownPlatform, UnknownStream, get_mapping, platforms, streams

# ------------------------------------------------------------------------------ buyer_key


def test_buyer_key_is_a_keyed_hmac_of_the_normalised_identifier() -> None:
    key = buyer_key(ctx("amazon"), "  Jane.Doe@Example.COM ")
    assert key == expected_buyer_key("jane.doe@example.com")
    assert is_buyer_key(key)


def test_buyer_key_keeps_case_of_non_email_identifiers() -> None:
    assert buyer_key(ctx("stripe"), " cus_AbC ") == expected_buyer_key("cus_AbC")
    assert buyer_key(ctx("stripe"), "cus_AbC") != buyer_key(ctx("stripe"), "cus_abc")


def test_buyer_key_depends_on_the_tenant_key() -> None:
    other = MappingContext(platform="stripe", buyer_hash_key=b"another tenant's key")
    assert buyer_key(other, "a@b.example") != buyer_key(ctx("stripe"), "a@b.example")
    assert TENANT_KEY.hex() not in buyer_key(ctx("stripe"), "a@b.example")


def test_buyer_key_is_idempotent() -> None:
    key = buyer_key(ctx("stripe"), "someone@example.com")
    assert buyer_key(ctx("stripe"), key) == key
    assert buyer_key(ctx("stripe"), f"  {key} ") == key


def test_buyer_key_refuses_an_empty_identifier() -> None:
    with pytest.raises(MappingError):
        buyer_key(ctx("stripe"), "   ")


# -------------------------------------------------------------------------------- redact

# Personal data written into our fixtures; none of it may survive redaction (case-insensitive).
PII = {
    ("amazon", "orders", "amazon/orders_page.json"): [
        "perpetua", "quill", "742 evergreen", "apartment 9b", "springfieldia", "lanecounty",
        "97477", "555 0100", "back porch", "ring for", "happy birthday", "us-tax-99887766",
        "minato-ku", "105-0011", "kaimono@",
    ],
    ("amazon", "orders", "amazon/orders_v0_page.json"): [
        "ozymandias", "kingsley", "desert sands", "nowhereville", "63130", "0199 111", "ka-777",
    ],
    ("stripe", "charges", "stripe/charges.json"): [
        "hermione", "granger", "privet", "little whinging", "rg12", "7700 900123", "fphermione42",
        "4242", "taro", "yamada", "fatima", "declined.buyer", "auth.only", "cus_hermione",
        "client_secret_hermione",
    ],
    ("stripe", "disputes", "stripe/disputes.json"): [
        "hermione", "granger", "privet", "203.0.113.77",
    ],
}  # fmt: skip

# Data that must stay: country codes, the seller's own business data.
KEPT = {
    ("amazon", "orders", "amazon/orders_page.json"): [
        '"countryCode": "US"', '"countryCode": "ca"', '"countryCode": "JP"',
        "Our Seller Warehouse", "1 Dock Road", "SELLER-VAT-1", "Our Seller Inc", "PEN-BLUE",
    ],
    ("amazon", "orders", "amazon/orders_v0_page.json"): [
        '"CountryCode": "US"', "Our Seller Warehouse", "1 Dock Road",
    ],
    ("stripe", "charges", "stripe/charges.json"): [
        '"country": "GB"', '"country": "KW"', "Order 1001",
    ],
    ("stripe", "disputes", "stripe/disputes.json"): ['"product_description": "Quills"'],
}  # fmt: skip


def _records(platform: str, stream: str, page: str) -> list[dict[str, object]]:
    return list(iter_raw_records(platform, stream, FIXTURES / page))


@pytest.mark.parametrize(("platform", "stream", "page"), sorted(PII))
def test_redaction_leaves_no_pii(platform: str, stream: str, page: str) -> None:
    records = _records(platform, stream, page)
    original_text = json.dumps(records, default=str).lower()
    stored = json.dumps(
        [redact(platform, stream, record, ctx(platform)) for record in records], default=str
    )
    for secret in PII[(platform, stream, page)]:
        assert secret in original_text  # the fixture really holds it
        assert secret not in stored.lower(), secret
    for kept in KEPT[(platform, stream, page)]:
        assert kept in stored, kept


def test_redaction_replaces_identifiers_by_their_key() -> None:
    first = _records("amazon", "orders", "amazon/orders_page.json")[0]
    stored = redact("amazon", "orders", first, ctx("amazon"))
    assert stored["buyer"]["buyerEmail"] == expected_buyer_key(
        "perpetua.quill@marketplace.amazon.com"
    )
    assert stored["buyer"]["buyerName"] is None
    assert stored["recipient"]["deliveryAddress"]["countryCode"] == "US"
    charge = _records("stripe", "charges", "stripe/charges.json")[1]
    stored_charge = redact("stripe", "charges", charge, ctx("stripe"))
    assert stored_charge["customer"] == expected_buyer_key("cus_taro")  # expanded object -> key


def test_redaction_does_not_touch_the_original() -> None:
    record = _records("stripe", "charges", "stripe/charges.json")[0]
    before = copy.deepcopy(record)
    redact("stripe", "charges", record, ctx("stripe"))
    assert record == before


@pytest.mark.parametrize(("platform", "stream", "page"), FIXTURE_PAGES)
def test_mapping_the_redacted_copy_gives_the_same_output(
    platform: str, stream: str, page: str
) -> None:
    mapping = get_mapping(platform, stream)
    for record in _records(platform, stream, page):
        stored = redact(platform, stream, record, ctx(platform))
        assert mapping(stored, ctx(platform)) == mapping(record, ctx(platform))
        # redacting twice changes nothing more
        assert redact(platform, stream, stored, ctx(platform)) == stored


def test_every_stream_has_a_redaction_table() -> None:
    for platform in platforms():
        assert sorted(REDACTION_TABLES[platform]) == sorted(streams(platform))


def test_redact_refuses_unknown_names() -> None:
    with pytest.raises(UnknownPlatform):
        redact("ebay", "orders", {}, ctx("ebay"))
    with pytest.raises(UnknownStream):
        redact("stripe", "invoices", {}, ctx("stripe"))


def test_only_the_buyers_tax_registration_is_removed() -> None:
    order = fixture("amazon", "orders_page.json")["orders"][0]
    stored = redact("amazon", "orders", order, ctx("amazon"))
    buyer_reg, merchant_reg = stored["tax"]["taxRegistrations"]
    assert buyer_reg["legalName"] is None and buyer_reg["taxRegistrationNumber"] is None
    assert buyer_reg["taxRegistrationAddress"]["countryCode"] == "US"
    assert merchant_reg["legalName"] == "Our Seller Inc"
