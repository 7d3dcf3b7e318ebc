"""Reading fields out of a raw platform record, with errors that name the field.

Messages never echo free-text values (they could hold buyer data); they name the dotted path
and say what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from normalizer.errors import MappingError

JsonDict = dict[str, Any]

_COUNTRY = re.compile(r"^[A-Z]{2}$")


def ensure_record(raw: object) -> Mapping[str, Any]:
    if type(raw) is dict:  # the usual case, without the slower ABC check
        return raw
    if not isinstance(raw, Mapping):
        raise MappingError(f"record: expected a JSON object, got {type(raw).__name__}")
    return raw


_SPLIT_PATHS: dict[str, tuple[str, ...]] = {}


def _steps(path: str) -> tuple[str, ...]:
    """``path.split(".")``, remembered: mappings use a few dozen fixed paths."""
    steps = _SPLIT_PATHS.get(path)
    if steps is None:
        steps = tuple(path.split("."))
        if len(_SPLIT_PATHS) < 4096:
            _SPLIT_PATHS[path] = steps
    return steps


def get(raw: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path, or None when any step is missing or not an object."""
    node: Any = raw
    for key in _steps(path):
        if type(node) is not dict and not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def require(raw: Mapping[str, Any], path: str) -> Any:
    value = get(raw, path)
    if value is None:
        raise MappingError(f"{path}: missing")
    return value


def require_str(raw: Mapping[str, Any], path: str) -> str:
    value = get(raw, path)
    if value is None:
        raise MappingError(f"{path}: missing")
    if not isinstance(value, str) or not value.strip():
        raise MappingError(f"{path}: must be a non-empty string")
    return value.strip()


def optional_str(raw: Mapping[str, Any], path: str) -> str | None:
    value = get(raw, path)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MappingError(f"{path}: must be a string, got {type(value).__name__}")
    return value.strip() or None


def optional_dict(raw: Mapping[str, Any], path: str) -> Mapping[str, Any] | None:
    value = get(raw, path)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise MappingError(f"{path}: must be an object, got {type(value).__name__}")
    return value


def optional_list(raw: Mapping[str, Any], path: str) -> list[Any]:
    value = get(raw, path)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(f"{path}: must be a list, got {type(value).__name__}")
    return value


def optional_bool(raw: Mapping[str, Any], path: str) -> bool | None:
    value = get(raw, path)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise MappingError(f"{path}: must be true or false, got {type(value).__name__}")
    return value


def country_code(value: object, field: str) -> str | None:
    """An ISO 3166-1 alpha-2 code (any case) or None when absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not _COUNTRY.match(value.strip().upper()):
        raise MappingError(f"{field}: not an ISO 3166-1 alpha-2 country code")
    return value.strip().upper()


def lookup(table: Mapping[str, Any], value: object, field: str) -> Any:
    """A status/enum table lookup that says which field held an unknown value."""
    if value is None:
        raise MappingError(f"{field}: missing")
    if not isinstance(value, str) or value not in table:
        known = ", ".join(sorted(table))
        raise MappingError(f"{field}: unknown value {str(value)[:40]!r} (known: {known})")
    return table[value]


@contextmanager
def within(prefix: str) -> Iterator[None]:
    """Prefix the field named by a MappingError raised inside (``orderItems[2].`` + ``sku``)."""
    try:
        yield
    except MappingError as exc:
        raise MappingError(f"{prefix}.{exc}") from None


def require_own_account(value: object, field: str, account_id: str | None) -> None:
    """Refuse a record that names an account other than the connection's (``account_id``;
    None when the caller does not know it). A record that names none is not refused."""
    if account_id is None or value is None:
        return
    if value != account_id:
        raise MappingError(
            f"{field}: the record belongs to account {str(value)[:40]!r}, "
            f"not to this connection's {account_id!r}"
        )
