"""The stored text and the hash of a raw payload and of a canonical record's content.

A raw payload is serialized once (msgspec, keys sorted, decimals as the exact JSON numbers the
platform sent); the same bytes go to the ``payload`` column and into ``payload_hash``.

A canonical record's content (``canonical_content``) is every schema field as a JSON-ready
value: decimals as exact strings, times RFC 3339 with ``Z``, dates ISO, enums by value. Its hash
(``content_hash``) treats ``10.0`` and ``10.00`` as the same amount. The hash is the one the
warehouse has always stored (SHA-256 of the standard library's sorted compact JSON of the
normalized content), so an upgrade adds no versions to rows whose content did not change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

import msgspec

from normalizer.schema import CanonicalRecord

_PAYLOAD_ENCODER = msgspec.json.Encoder(order="sorted", decimal_format="number")
_CONTENT_ENCODER = msgspec.json.Encoder(order="sorted")
_HASH_ENCODER = _CONTENT_ENCODER


def payload_text(payload: Mapping[str, Any]) -> bytes:
    """The stored JSON of a raw payload (UTF-8, sorted keys, exact decimal numbers)."""
    return _PAYLOAD_ENCODER.encode(payload)


def payload_hash(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(payload_text(payload)).hexdigest()


def text_hash(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def content_text(content: Mapping[str, Any]) -> bytes:
    """The stored JSON of a canonical content (``canonical_versions.content``)."""
    return _CONTENT_ENCODER.encode(content)


# ---------------------------------------------------------------------- canonical content


def json_ready(value: Any) -> Any:
    """A field value as canonical content holds it (decimals exact text, times RFC 3339)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


@cache
def _field_names(model: type[CanonicalRecord]) -> tuple[str, ...]:
    return tuple(model.model_fields)


# values that are their own JSON and their own driver value
PLAIN_SCALARS = frozenset({str, int, bool, type(None)})


def canonical_content(record: CanonicalRecord) -> dict[str, Any]:
    """The record's fields as JSON-ready values (decimals as exact strings, times RFC 3339)."""
    values = record.__dict__
    content: dict[str, Any] = {}
    for name in _field_names(type(record)):
        value = values[name]
        content[name] = value if value.__class__ in PLAIN_SCALARS else json_ready(value)
    return content


def content_hash(content: Mapping[str, Any]) -> str:
    """Hash of the canonical content; ``10.0`` and ``10.00`` are the same amount.

    The hashed text is the standard library's ``json.dumps(sort_keys=True)`` of the content with
    number-like strings normalized. msgspec writes the same bytes whenever the text needs no
    escapes (ASCII without backslashes or DEL); anything else goes through ``json.dumps``.
    """
    normalized: dict[str, Any] = {}
    plain = True
    for key, value in content.items():
        if isinstance(value, str):
            value = normalize_number_text(value)
        elif value.__class__ not in PLAIN_SCALARS:
            plain = False
        normalized[key] = value
    return normalized_content_hash(normalized, plain=plain)


def normalized_content_hash(normalized: Mapping[str, Any], *, plain: bool = True) -> str:
    """``content_hash`` of content whose number-like strings are already normalized;
    ``plain``: every value is a string, an integer, a boolean or null."""
    if plain:
        text = _HASH_ENCODER.encode(normalized)
        if text.isascii() and b"\\" not in text and b"\x7f" not in text:
            return hashlib.sha256(text).hexdigest()
    dumped = json.dumps(normalized, sort_keys=True, separators=(",", ":"), default=_hash_default)
    return hashlib.sha256(dumped.encode()).hexdigest()


def _hash_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return "d:" + str(value)
    raise TypeError(f"cannot hash a {type(value).__name__}")


def normalize_number_text(value: str) -> str:
    """A plain decimal number's text without trailing zeros (``"10.50"`` -> ``"10.5"``); any
    other string as it is. The shape test comes first: most strings are not numbers."""
    if not value.replace(".", "", 1).lstrip("-").isdigit():
        return value
    try:
        number = Decimal(value)
    except ArithmeticError:
        return value
    if not number.is_finite():
        return value
    return format(number.normalize(), "f")


# ------------------------------------------------------- content and hash input in one step

ContentParts = Callable[[Any], tuple[Any, Any]]


def _as_is_parts(value: Any) -> tuple[Any, Any]:
    return value, value


def _day_parts(value: date) -> tuple[str, str]:
    text = value.isoformat()
    return text, text  # never number-like


def _enum_parts(value: Enum) -> tuple[Any, Any]:
    plain = value.value
    return plain, normalize_number_text(plain) if isinstance(plain, str) else plain


# text, null, Decimal and datetime are written out inline by warehouse/row_parts.py
_PARTS: dict[type, ContentParts] = {int: _as_is_parts, bool: _as_is_parts, date: _day_parts}


def content_parts(kind: type) -> ContentParts | None:
    """For a field value of class ``kind`` (integers, booleans, dates and enums with text or
    integer values): value -> (its ``canonical_content`` value, that value as
    ``content_hash`` normalizes it). None for any other class."""
    parts = _PARTS.get(kind)
    if (
        parts is None
        and issubclass(kind, Enum)
        and all(type(member.value) in (str, int) for member in kind)
    ):
        parts = _PARTS[kind] = _enum_parts
    return parts
