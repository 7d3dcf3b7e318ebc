from __future__ import annotations

import pytest

from normalizer import amazon, stripe
from normalizer.registry import (
    MAPPING_VERSION,
    UnknownPlatform,
    UnknownStream,
    get_mapping,
    platforms,
    streams,
)


def test_platforms_and_streams() -> None:
    assert platforms() == ["amazon", "stripe"]
    assert sorted(streams("amazon")) == ["account", "orders", "transactions"]
    assert sorted(streams("stripe")) == [
        "account", "balance_transactions", "charges", "disputes", "payouts", "refunds"
    ]  # fmt: skip
    assert sorted(MAPPING_VERSION) == platforms()
    assert all(isinstance(v, int) and v >= 1 for v in MAPPING_VERSION.values())


def test_get_mapping_returns_the_platform_function() -> None:
    assert get_mapping("amazon", "orders") is amazon.map_orders
    assert get_mapping("stripe", "balance_transactions") is stripe.map_balance_transactions


def test_unknown_platform_lists_the_known_ones() -> None:
    with pytest.raises(KeyError) as caught:
        get_mapping("shopify", "orders")
    assert isinstance(caught.value, UnknownPlatform)
    assert str(caught.value) == "unknown platform 'shopify' (known: amazon, stripe)"
    with pytest.raises(UnknownPlatform):
        streams("ebay")


def test_unknown_stream_lists_the_known_ones() -> None:
    with pytest.raises(KeyError) as caught:
        get_mapping("amazon", "invoices")
    assert isinstance(caught.value, UnknownStream)
    message = str(caught.value)
    assert message.startswith("amazon has no stream 'invoices' (known: ")
    assert all(name in message for name in streams("amazon"))
    assert "\n" not in message
