"""Small pieces: exact decimal JSON, token buckets, page tokens, money helpers, grants file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from sandbox.common.clock import Clock
from sandbox.common.decjson import dumps
from sandbox.common.grants import GrantError, GrantStore, TokenFormat
from sandbox.common.money import decimal_str, from_minor, quantize, to_minor
from sandbox.common.pagetoken import PageTokenError, PageTokens
from sandbox.common.ratelimit import Limit, RateLimiter


def test_decimal_json_writes_exact_numbers() -> None:
    text = dumps(
        {"a": Decimal("0.1") + Decimal("0.2"), "b": [Decimal("-1200"), Decimal("12.30")], "c": "x"}
    )
    assert text == '{"a":0.3,"b":[-1200,12.30],"c":"x"}'
    assert json.loads(text, parse_float=Decimal)["b"][1] == Decimal("12.30")


def test_money_helpers_follow_iso_exponents() -> None:
    assert (
        decimal_str(Decimal("5"), "USD") == "5.00" and decimal_str(Decimal("980.4"), "JPY") == "980"
    )
    assert to_minor(Decimal("12.345"), "EUR") == 1235 and to_minor(Decimal("1500"), "JPY") == 1500
    assert from_minor(1999, "USD") == Decimal("19.99") and from_minor(1999, "JPY") == Decimal(
        "1999"
    )
    assert quantize(Decimal("0.005"), "USD") == Decimal("0.01")


def test_token_bucket_burst_then_rate() -> None:
    clock = Clock()
    clock.freeze(datetime(2026, 1, 1, tzinfo=UTC))
    limiter = RateLimiter(clock, {"op": Limit(0.5, 2)}, Limit(5, 15))
    assert [limiter.acquire("s", "op") for _ in range(3)] == [True, True, False]
    clock.advance(1.9)
    assert limiter.acquire("s", "op") is False
    clock.advance(0.2)
    assert limiter.acquire("s", "op") is True
    assert limiter.acquire("t", "op") is True  # another account has its own bucket
    assert limiter.limit_for("other") == Limit(5, 15)


def test_page_tokens_are_bound_to_query_and_expire() -> None:
    tokens = PageTokens("seed", timedelta(hours=24))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    token = tokens.issue(["a", 1], "q", now)
    assert tokens.read(token, "q", now + timedelta(hours=23)) == ["a", 1]
    for bad_query, when in (("other", now), ("q", now + timedelta(hours=25))):
        with pytest.raises(PageTokenError):
            tokens.read(token, bad_query, when)
    with pytest.raises(PageTokenError):
        tokens.read(token.replace(".", ".x"), "q", now)
    assert PageTokens("seed").read(token, "q", now) == ["a", 1]  # another process, same seed


def test_grants_survive_a_new_store_on_the_same_file(tmp_path: Path) -> None:
    fmt = TokenFormat("c_", "a_", "r_")
    clock = Clock()
    store = GrantStore(tmp_path / "g.json", clock, fmt)
    code = store.issue_code("acct", "client", "https://x/cb", "read")
    issued = store.redeem_code(code, "client", "https://x/cb", 3600)
    later = GrantStore(tmp_path / "g.json", clock, fmt)
    assert later.check_access(issued.access_token).account == "acct"
    assert later.refresh(issued.refresh_token, "client", 3600).refresh_token == issued.refresh_token
    with pytest.raises(GrantError):
        later.redeem_code(code, "client", "https://x/cb", 3600)
    with pytest.raises(GrantError):
        later.refresh(issued.refresh_token, "another-client", 3600)
    # a store that is already open sees another store's revocation
    later.revoke_account("acct")
    assert store.check_access(issued.access_token).problem == "revoked"
    assert issued.access_token not in (tmp_path / "g.json").read_text()
