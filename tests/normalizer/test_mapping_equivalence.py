"""The Stripe and Amazon mappings give exactly the output they gave before the speed-up.

Cases are generated here, never copied: every record the emulators render for their seeded
sellers (``sandbox.stripe`` / ``sandbox.amazon``, fixed seed and anchor), a small load-benchmark
file (``bench.generate``), and, for two records of every stream, each field (down to two levels)
replaced by awkward values (missing, None, blank, float, NaN, bool, wrong type, out of range).

A case's result is the exact output (model, and every field's ``repr``, so ``Decimal('5.00')``
differs from ``Decimal('5.0')``), or the exception type and message. Results are hashed in
groups of at most ``GROUP`` cases; ``fixtures/golden/mapping_equivalence.txt`` holds the group
digests produced by the mappings before the change. Regenerate it (only when a mapping is
meant to change its output, with a ``MAPPING_VERSION`` bump) with::

    PYTHONPATH=. .venv/bin/python tests/normalizer/test_mapping_equivalence.py --write
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from norm_helpers import FIXTURES, ctx

from normalizer.records import build
from normalizer.registry import get_mapping
from normalizer.schema import ENTITY_MODELS, CanonicalRecord
from tests.emulator_records import amazon_records, stripe_records

GOLDEN = FIXTURES / "golden" / "mapping_equivalence.txt"
GROUP = 50
SEED = 7

Case = tuple[str, str, str, dict[str, Any]]  # group, platform, stream, raw
_MISSING = object()
AWKWARD: tuple[object, ...] = (
    _MISSING, None, "", "   ", " Ab ", "abc", "usd", "JPY", "xx", "ch_1", "po_1", "py_1",
    0, 1, -5, 2**70, -(10**12), 1.5, Decimal("1.5"), Decimal("7.0"), Decimal("-0"),
    Decimal("NaN"), Decimal("Infinity"), True, False, [], {}, {"id": " x "}, {"id": 3},
    [{"description": 4}], "2024-01-02T03:04:05Z", "2024-01-02T03:04:05", "bk_" + "0" * 64,
    "x" * 300,
)  # fmt: skip
# Values for building schema models directly (``normalizer.records.build``).
_UTC = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
SCHEMA_VALUES: tuple[object, ...] = (
    _MISSING, None, "", " ", "x" * 255, "x" * 256, "usd", "USD", "Usd", "us", "US", "U1", "USDX",
    "u$d", "ÄÖÜ", "é1", 3, -1, 0, 1.5, True, Decimal("1.50"), Decimal("-0.01"), Decimal("NaN"),
    Decimal("-Infinity"), "12.30", "abc", _UTC, _UTC.replace(tzinfo=None),
    _UTC.astimezone(timezone(timedelta(hours=1))), _UTC.astimezone(timezone(timedelta(0))),
    "2024-01-02T03:04:05Z", "2024-01-02T03:04:05+01:00", "2024-01-02T03:04:05", 1700000000,
    date(2024, 1, 2), "2024-01-02", "paid", "PAID", "sale", "available", "closed", "won",
    "active", [], {},
)  # fmt: skip


def _reparse(doc: Any) -> Any:
    from sandbox.common.decjson import dumps

    return json.loads(dumps(doc), parse_float=Decimal)


def _bench_records() -> Iterator[tuple[str, dict[str, Any]]]:
    from bench.generate import generate

    with tempfile.TemporaryDirectory() as tmp:
        path = generate(Path(tmp) / "bench.jsonl", 2000, accounts=3, seed=SEED)
        for line in path.read_text(encoding="utf-8").splitlines():
            _, stream, text = line.split("\t", 2)
            yield stream, json.loads(text, parse_float=Decimal)


def _paths(record: dict[str, Any]) -> Iterator[tuple[str | int, ...]]:
    for key, value in record.items():
        yield (key,)
        if isinstance(value, dict):
            for inner, nested in value.items():
                yield (key, inner)
                if isinstance(nested, dict):
                    for leaf in nested:
                        yield (key, inner, leaf)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for inner in value[0]:
                yield (key, 0, inner)


def _replaced(record: dict[str, Any], path: tuple[str | int, ...], value: object) -> Any:
    copy = _reparse(record)
    node = copy
    for step in path[:-1]:
        node = node[step]
    if value is _MISSING:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return copy


def _variants(platform: str, stream: str, record: dict[str, Any]) -> Iterator[Case]:
    for path in _paths(record):
        name = ".".join(str(step) for step in path)
        for value in AWKWARD:
            yield (
                f"{platform}/{stream}/awkward/{name}",
                platform,
                stream,
                _replaced(record, path, value),
            )


def cases() -> Iterator[Case]:
    sources = [
        ("stripe", "emulator", stripe_records()),
        ("amazon", "emulator", amazon_records()),
        ("stripe", "bench", _bench_records()),
    ]
    for platform, source, records in sources:
        bases: dict[str, list[dict[str, Any]]] = {}
        for stream, raw in records:
            record = _reparse(raw)
            yield f"{platform}/{stream}/{source}", platform, stream, record
            picked = bases.setdefault(stream, [])
            if source == "emulator" and len(picked) < 2 and (not picked or record != picked[0]):
                picked.append(record)
        for stream, picked in bases.items():
            for record in picked:
                yield from _variants(platform, stream, record)
    yield "edge/not-a-dict", "stripe", "charges", "text"  # type: ignore[misc]
    yield "edge/empty", "stripe", "charges", {}


_SCHEMA_BASE: dict[str, dict[str, Any]] = {
    "accounts": {"external_id": "a", "status": "active"},
    "orders": {
        "external_id": "o", "placed_at": _UTC, "status": "paid", "channel": "web",
        "currency": "USD", "gross": Decimal("10.00"), "net": Decimal("9.00"),
    },
    "order_lines": {
        "external_id": "l", "order_external_id": "o", "quantity": 1, "currency": "EUR",
        "unit_price": Decimal("1.00"), "line_total": Decimal("1.00"),
    },
    "refunds": {
        "external_id": "r", "created_at": _UTC, "currency": "JPY", "amount": Decimal(5),
        "status": "succeeded",
    },
    "transactions": {
        "external_id": "t", "type": "sale", "occurred_at": _UTC, "currency": "USD",
        "amount": Decimal("-1.25"),
    },
    "payouts": {
        "external_id": "p", "created_at": _UTC, "currency": "USD", "amount": Decimal(1),
        "status": "paid",
    },
    "disputes": {
        "external_id": "d", "opened_at": _UTC, "currency": "USD", "amount": Decimal(1),
        "status": "closed",
    },
}  # fmt: skip


def schema_cases() -> Iterator[tuple[str, type[CanonicalRecord], dict[str, Any]]]:
    """Every field of every model set to each of ``SCHEMA_VALUES`` (plus an unknown field)."""
    for entity, model in ENTITY_MODELS.items():
        base = _SCHEMA_BASE[entity]
        yield f"schema/{entity}", model, dict(base)
        yield f"schema/{entity}", model, {**base, "unknown_field": 1}
        for name in model.model_fields:
            for value in SCHEMA_VALUES:
                fields = dict(base)
                if value is _MISSING:
                    fields.pop(name, None)
                else:
                    fields[name] = value
                yield f"schema/{entity}/{name}", model, fields


def _build_result(model: type[CanonicalRecord], fields: dict[str, Any]) -> str:
    try:
        record = build(model, **fields)
    except Exception as exc:  # any outcome must stay the same
        return f"error {type(exc).__name__}: {exc}"
    return _records_text([record])


def _records_text(records: list[CanonicalRecord]) -> str:
    return repr(
        [
            (type(rec).__name__, [(name, repr(value)) for name, value in rec.__dict__.items()])
            for rec in records
        ]
    )


def result(platform: str, stream: str, raw: dict[str, Any]) -> str:
    """The exact outcome of one mapping call, as text."""
    try:
        records = get_mapping(platform, stream)(raw, ctx(platform))
    except Exception as exc:  # any outcome must stay the same
        return f"error {type(exc).__name__}: {exc}"
    return _records_text(records)


def digests() -> list[str]:
    """``group#n count digest`` lines, in case order."""
    lines: list[str] = []
    current: tuple[str, int] | None = None
    hasher = hashlib.sha256()
    count = 0

    def flush() -> None:
        if current is not None:
            lines.append(f"{current[0]}#{current[1]} {count} {hasher.hexdigest()[:16]}")

    seen: dict[str, int] = {}
    outcomes: Iterator[tuple[str, str]] = itertools.chain(
        ((group, result(platform, stream, raw)) for group, platform, stream, raw in cases()),
        ((group, _build_result(model, fields)) for group, model, fields in schema_cases()),
    )
    for group, outcome in outcomes:
        if current is None or current[0] != group or count >= GROUP:
            flush()
            seen[group] = seen.get(group, -1) + 1
            current, hasher, count = (group, seen[group]), hashlib.sha256(), 0
        hasher.update(outcome.encode() + b"\n")
        count += 1
    flush()
    return lines


def test_mappings_unchanged() -> None:
    expected = GOLDEN.read_text(encoding="utf-8").splitlines()
    produced = digests()
    assert len(produced) == len(expected)
    changed = [got for got, want in zip(produced, expected, strict=True) if got != want]
    assert not changed, f"{len(changed)} case groups changed, first: {changed[:5]}"


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        GOLDEN.write_text("\n".join(digests()) + "\n", encoding="utf-8")
