"""A page of raw platform records -> what the page writer takes: mapped records and the
quarantined ones, each with its reason. Shared by the sync runner and bulk imports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.http.body import dig
from normalizer.context import MappingContext
from normalizer.errors import MappingError
from normalizer.pii import redact
from normalizer.registry import get_mapping
from warehouse.page_prep import MappedRecord
from warehouse.writer import QuarantineItem


def map_records(
    platform: str,
    stream: str,
    primary_key: str,
    records: Sequence[Any],
    context: MappingContext,
) -> tuple[list[MappedRecord], list[QuarantineItem]]:
    """Map each record and redact the copy that is stored; a record that does not map (or has
    no id at ``primary_key``) is quarantined with its reason while the rest of the page lands."""
    mapping = get_mapping(platform, stream)
    mapped: list[MappedRecord] = []
    quarantined: list[QuarantineItem] = []
    for raw in records:
        external = dig(raw, primary_key) if isinstance(raw, dict) else None
        external_id = str(external) if external not in (None, "") else None
        try:
            if not isinstance(raw, dict):
                raise MappingError(f"record: expected a JSON object, got {type(raw).__name__}")
            if external_id is None:
                raise MappingError(f"{primary_key}: missing record id")
            canonical = mapping(raw, context)
            stored = redact(platform, stream, raw, context)
        except MappingError as error:
            quarantined.append(
                QuarantineItem(
                    external_id=external_id,
                    reason=str(error),
                    payload=safe_redact(platform, stream, raw, context),
                )
            )
            continue
        mapped.append(MappedRecord(external_id, stored, canonical))
    return mapped, quarantined


def safe_redact(platform: str, stream: str, raw: Any, context: MappingContext) -> dict[str, Any]:
    """A quarantined record is kept without buyer PII; if even redaction fails, keep its shape."""
    if not isinstance(raw, dict):
        return {"_not_an_object": type(raw).__name__}
    try:
        return redact(platform, stream, raw, context)
    except Exception:
        return {"_redaction_failed": True, "keys": sorted(str(key) for key in raw)}
