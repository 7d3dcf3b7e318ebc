"""Canonical records: safe construction from a mapping, and their JSON form.

``canonical_to_json`` is the one JSON shape for canonical rows (CLI output, golden files, the
HTTP API): ``entity``, ``external_id``, then every schema field by name; ``Decimal`` as a plain
decimal string, datetimes as RFC 3339 UTC with ``Z``, dates as ``YYYY-MM-DD``, enums by value.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import ValidationError

from normalizer.errors import MappingError
from normalizer.pages import iter_raw_records
from normalizer.schema import CanonicalRecord
from normalizer.timeutil import to_rfc3339_z

__all__ = ["build", "canonical_to_json", "iter_raw_records", "json_value"]

R = TypeVar("R", bound=CanonicalRecord)


def build(model: type[R], **fields: Any) -> R:
    """Construct a canonical record; a schema violation becomes a MappingError naming the field.

    Pydantic's messages are used without the offending input, so no raw value leaks.
    """
    try:
        return model(**fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc']) or model.__name__}: {err['msg']}"
            for err in exc.errors(include_url=False, include_input=False)
        )
        raise MappingError(f"{model.entity}: {problems}") from None


def json_value(value: Any) -> Any:
    """One field value -> its JSON form."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return to_rfc3339_z(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def canonical_to_json(record: CanonicalRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"entity": record.entity, "external_id": record.external_id}
    for name in type(record).model_fields:
        if name == "external_id":
            continue
        out[name] = json_value(getattr(record, name))
    return out
