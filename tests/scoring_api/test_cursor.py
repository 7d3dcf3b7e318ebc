"""Cursor tokens: what one carries, and why a token from before migration 0009 is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from api.auth import ApiError
from api.scoring import Filters, decode_cursor, encode_cursor

KEY = b"k" * 32
FILTERS = Filters(
    seller_id=None,
    platform="stripe",
    since=None,
    until=None,
    as_of=datetime(2026, 6, 1, tzinfo=UTC),
)


def _signed(body: dict[str, object]) -> str:
    data = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(KEY, data, hashlib.sha256).digest()[:16]
    encode = base64.urlsafe_b64encode
    return f"{encode(data).rstrip(b'=').decode()}.{encode(mac).rstrip(b'=').decode()}"


def test_a_cursor_gives_back_its_row_id_and_filters() -> None:
    cursor = encode_cursor(KEY, "ten_a", "orders", 41, FILTERS)
    assert decode_cursor(KEY, "ten_a", "orders", cursor) == (41, FILTERS)


def test_a_cursor_of_version_row_ids_is_refused() -> None:
    """Before 0009 "a" was a version row's id; resuming a walk at a canonical row of that id
    would skip or repeat rows, so such a cursor is a 400, even though we signed it."""
    old = json.loads(
        base64.urlsafe_b64decode(
            encode_cursor(KEY, "ten_a", "orders", 41, FILTERS).split(".")[0] + "=="
        )
    )
    assert old.pop("k") == "row"
    with pytest.raises(ApiError) as refused:
        decode_cursor(KEY, "ten_a", "orders", _signed(old))
    assert (refused.value.status_code, refused.value.code) == (400, "invalid_cursor")
