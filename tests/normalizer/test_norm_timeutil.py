from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from normalizer.errors import MappingError
from normalizer.timeutil import (
    from_unix_seconds,
    parse_datetime,
    to_rfc3339_z,
    unix_seconds_to_date,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-12-25T10:30:00Z", datetime(2024, 12, 25, 10, 30, tzinfo=UTC)),
        ("2024-12-25T10:30:00+00:00", datetime(2024, 12, 25, 10, 30, tzinfo=UTC)),
        ("2024-12-25T19:30:00+09:00", datetime(2024, 12, 25, 10, 30, tzinfo=UTC)),
        ("2021-07-04T10:13:23-0700", datetime(2021, 7, 4, 17, 13, 23, tzinfo=UTC)),
        ("2020-07-14T03:35:13.214Z", datetime(2020, 7, 14, 3, 35, 13, 214000, tzinfo=UTC)),
        ("2024-12-25t10:30:00z", datetime(2024, 12, 25, 10, 30, tzinfo=UTC)),
    ],
)
def test_parse_datetime_gives_aware_utc(text: str, expected: datetime) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("bad", ["2024-12-25T10:30:00", "2024-12-25", "yesterday", "", None, 17e8])
def test_parse_datetime_refuses_naive_and_garbage(bad: object) -> None:
    with pytest.raises(MappingError, match=r"^postedDate: "):
        parse_datetime(bad, "postedDate")


def test_naive_time_error_says_so() -> None:
    with pytest.raises(MappingError, match="offset"):
        parse_datetime("2024-12-25T10:30:00", "createdTime")


def test_from_unix_seconds() -> None:
    assert from_unix_seconds(1640120473) == datetime(2021, 12, 21, 21, 1, 13, tzinfo=UTC)
    assert from_unix_seconds(Decimal("1675036799.0")) == datetime(
        2023, 1, 29, 23, 59, 59, tzinfo=UTC
    )


@pytest.mark.parametrize("bad", [1640120473.5, 1640120473.0, True, "1640120473", None, 10**15])
def test_from_unix_seconds_refuses(bad: object) -> None:
    with pytest.raises(MappingError, match=r"^created: "):
        from_unix_seconds(bad, "created")


def test_unix_seconds_to_date_uses_utc() -> None:
    # 2022-02-22T00:00:00Z; Stripe's arrival_date is midnight UTC.
    assert unix_seconds_to_date(1645488000) == date(2022, 2, 22)


def test_to_rfc3339_z() -> None:
    assert to_rfc3339_z(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2024-01-02T03:04:05Z"
    plus_two = timezone(timedelta(hours=2))
    assert to_rfc3339_z(datetime(2024, 1, 2, 5, 4, 5, tzinfo=plus_two)) == "2024-01-02T03:04:05Z"
    assert to_rfc3339_z(datetime(2024, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)) == (
        "2024-01-02T03:04:05.12Z"
    )
    with pytest.raises(ValueError, match="aware"):
        to_rfc3339_z(datetime(2024, 1, 2, 3, 4, 5))
