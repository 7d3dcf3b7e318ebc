"""Times: platform strings and epochs -> timezone-aware UTC, and back to RFC 3339 text."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from normalizer.errors import MappingError

# 0001-01-01 .. 9999-12-31 in unix seconds: what ``datetime`` can hold.
_MIN_EPOCH = -62135596800
_MAX_EPOCH = 253402300799


def parse_datetime(value: object, field: str = "time") -> datetime:
    """An ISO 8601 / RFC 3339 string with an offset -> aware UTC. Naive times are refused.

    Amazon sends ``2024-12-25T10:30:00Z`` and ``2020-07-14T03:35:13.214Z``; some APIs write the
    offset without a colon (``+0000``); all of them are accepted. A date or a time without an
    offset says nothing about the zone, so it is an error rather than a guess.
    """
    if not isinstance(value, str) or not value.strip():
        raise MappingError(f"{field}: missing timestamp")
    text = value.strip()
    # RFC 3339 allows lower-case 't' and 'z'; fromisoformat wants upper case.
    try:
        parsed = datetime.fromisoformat(text.upper())
    except ValueError as exc:
        raise MappingError(f"{field}: not an ISO 8601 timestamp: {text[:40]!r}") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise MappingError(f"{field}: timestamp has no UTC offset: {text[:40]!r}")
    return parsed.astimezone(UTC)


def _epoch_seconds(value: object, field: str) -> int:
    if type(value) is int and _MIN_EPOCH <= value <= _MAX_EPOCH:
        return value
    if isinstance(value, (bool, float)):
        raise MappingError(f"{field}: epoch seconds must be an integer")
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            raise MappingError(f"{field}: epoch seconds must be a whole number")
        value = int(value)
    if not isinstance(value, int):
        if value is None:
            raise MappingError(f"{field}: missing timestamp")
        raise MappingError(f"{field}: epoch seconds must be an integer")
    if not _MIN_EPOCH <= value <= _MAX_EPOCH:
        raise MappingError(f"{field}: epoch seconds out of range")
    return value


def from_unix_seconds(value: object, field: str = "time") -> datetime:
    """Unix seconds (int, or an integral Decimal like ``1675036799.0``) -> aware UTC."""
    return datetime.fromtimestamp(_epoch_seconds(value, field), tz=UTC)


def unix_seconds_to_date(value: object, field: str = "date") -> date:
    """Unix seconds -> the UTC calendar date (Stripe sends dates as midnight-UTC epochs)."""
    return from_unix_seconds(value, field).date()


def to_rfc3339_z(moment: datetime) -> str:
    """Aware datetime -> ``2024-01-02T03:04:05Z`` (fraction only when there is one)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("to_rfc3339_z needs a timezone-aware datetime")
    utc = moment.astimezone(UTC)
    text = (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    )
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"
