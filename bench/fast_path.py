"""A prototype of a faster page write, to measure what the proposals in docs/benchmarks.md gain.

Same contract and same rows as ``warehouse.writer.write_page`` (raw rows kept once per distinct
content, canonical rows upserted with versions, quarantine, cursor, run counters, one
transaction, the metrics hook when the writer has one); ``bench/check_fast.py`` compares the two
table by table. What it does differently:

1. ``redact_cow``: redaction copies only the objects on the redacted paths (copy-on-write)
   instead of ``copy.deepcopy`` of the whole record, and walks the rule table as a tree parsed
   once (a missing ``source`` prunes its 30 paths in one look-up);
2. each payload is serialized once for storage, and that text goes to the driver as it is (the
   writer's JSON column serializes it again); the hash is ``writer.payload_hash``, once;
3. the canonical content is serialized once for ``canonical_versions``; the content hash skips
   the ``Decimal()`` attempt (an exception) on strings that cannot be numbers;
4. rows go to the driver's ``executemany`` as plain tuples with pre-adapted values (SQLAlchemy
   Core's per-row bind processing and ``RETURNING`` through insertmanyvalues are skipped); raw ids
   are read back with one ``SELECT`` per 500 ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

from sqlalchemy import Connection, Date, DateTime, Engine, select, update
from sqlmodel.sql.sqltypes import UTCDateTime

from normalizer.context import MappingContext
from normalizer.pii import buyer_key, redaction_rules
from normalizer.schema import CanonicalRecord
from warehouse import writer
from warehouse.tables import CANONICAL_TABLES, SyncRun, table_of, utcnow
from warehouse.types import ExactDecimal, dumps_json

# ------------------------------------------------------------------------ redaction


@dataclass(frozen=True)
class _Segment:
    name: str | None  # None: every key (``*``)
    each: bool  # ``name[]`` or ``name[key=value]``
    key: str | None = None
    value: str | None = None


@cache
def _parse(path: str) -> tuple[_Segment, ...]:
    segments = []
    for part in path.split("."):
        if part == "*":
            segments.append(_Segment(None, False))
        elif part.endswith("]"):
            name, _, inner = part[:-1].partition("[")
            key, _, value = inner.partition("=")
            segments.append(_Segment(name, True, key or None, value if key else None))
        else:
            segments.append(_Segment(part, False))
    return tuple(segments)


def _own(parent: Any, key: Any, owned: set[int]) -> Any:
    """``parent[key]`` as a private shallow copy (copied at most once)."""
    child = parent[key]
    if id(child) in owned:
        return child
    if isinstance(child, dict):
        child = dict(child)
    elif isinstance(child, list):
        child = list(child)
    else:
        return child
    parent[key] = child
    owned.add(id(child))
    return child


Apply = Callable[[dict[str, Any], str], None]
# segment -> (a path ends here, the segments below it)
Trie = dict[_Segment, tuple[bool, "Trie"]]


@cache
def _trie(paths: tuple[str, ...]) -> Trie:
    """The paths as a tree, so shared prefixes are walked once and absent ones pruned once."""
    root: Trie = {}
    for path in paths:
        node = root
        segments = _parse(path)
        for index, segment in enumerate(segments):
            leaf, children = node.get(segment, (False, {}))
            node[segment] = (leaf or index == len(segments) - 1, children)
            node = children
    return root


def _walk(node: dict[str, Any], trie: Trie, apply: Apply, owned: set[int]) -> None:
    """As ``normalizer.pii._walk`` for every path at once, copying each dict or list before
    changing anything below it."""
    for segment, (leaf, children) in trie.items():
        if segment.name is None:
            names = list(node)
        else:
            if segment.name not in node:
                continue
            if segment.each:
                if isinstance(node[segment.name], list) and children:
                    items = _own(node, segment.name, owned)
                    for index, item in enumerate(items):
                        if isinstance(item, dict) and (
                            segment.key is None or item.get(segment.key) == segment.value
                        ):
                            _walk(_own(items, index, owned), children, apply, owned)
                continue
            names = [segment.name]
        for name in names:
            if children and isinstance(node[name], dict):
                _walk(_own(node, name, owned), children, apply, owned)
            if leaf:
                apply(node, name)


def redact_cow(
    platform: str, stream: str, record: Mapping[str, Any], ctx: MappingContext
) -> dict[str, Any]:
    """Equal to ``normalizer.pii.redact``; shares the untouched parts with ``record``."""
    rules = redaction_rules(platform, stream)
    root = dict(record)
    owned = {id(root)}

    def drop(parent: dict[str, Any], key: str) -> None:
        parent[key] = None

    def replace(parent: dict[str, Any], key: str) -> None:
        value = parent[key]
        if isinstance(value, str) and value.strip():
            parent[key] = buyer_key(ctx, value)
        elif isinstance(value, dict) and isinstance(value.get("id"), str) and value["id"].strip():
            parent[key] = buyer_key(ctx, value["id"])
        elif value is not None:
            parent[key] = None

    _walk(root, _trie(rules.drop), drop, owned)
    _walk(root, _trie(rules.key), replace, owned)
    return root


# ------------------------------------------------------------------------ hashing


def _normalize_number_text(value: str) -> str:
    """``writer._normalize_number_text`` with the cheap shape test first (same results)."""
    if not value.replace(".", "", 1).lstrip("-").isdigit():
        return value
    try:
        number = Decimal(value)
    except ArithmeticError:
        return value
    if not number.is_finite():
        return value
    return format(number.normalize(), "f")


def content_hash(content: Mapping[str, Any]) -> str:
    normalized = {
        key: _normalize_number_text(value) if isinstance(value, str) else value
        for key, value in content.items()
    }
    return hashlib.sha256(dumps_json(normalized).encode()).hexdigest()


# ------------------------------------------------------------------------ driver values


def _sqlite_value(value: Any) -> Any:
    """What SQLAlchemy's SQLite types store: decimals as text, times as naive UTC text."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _postgres_value(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


def _identity(value: Any) -> Any:
    return value


def _needs_adapting(column: Any) -> bool:
    """Columns whose Python values the driver cannot take as they are (times, money, dates)."""
    return isinstance(column.type, (ExactDecimal, UTCDateTime, DateTime, Date))


@dataclass(frozen=True)
class _Driver:
    conn: Connection
    marker: str
    adapt: Callable[[Any], Any]

    @classmethod
    def of(cls, conn: Connection) -> _Driver:
        if conn.dialect.name == "sqlite":
            return cls(conn, "?", _sqlite_value)
        return cls(conn, "%s", _postgres_value)

    def many(
        self, sql: str, rows: Sequence[Sequence[Any]], adapt: Sequence[bool] | None = None
    ) -> None:
        """``adapt[i]``: column i holds times, money or dates (default: adapt every value)."""
        if not rows:
            return
        if adapt is None:
            self.conn.exec_driver_sql(sql, [tuple(map(self.adapt, row)) for row in rows])
            return
        functions = [self.adapt if flag else _identity for flag in adapt]
        self.conn.exec_driver_sql(
            sql, [tuple(f(v) for f, v in zip(functions, row, strict=True)) for row in rows]
        )

    def rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return list(self.conn.exec_driver_sql(sql, tuple(params)))

    def insert_sql(self, table: str, columns: Sequence[str]) -> str:
        marks = ", ".join([self.marker] * len(columns))
        return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ------------------------------------------------------------------------ the page

RAW_COLUMNS = (
    "connection_id", "stream", "external_id", "payload", "payload_hash", "fetched_at", "run_id",
)  # fmt: skip
VERSION_COLUMNS = (
    "entity", "connection_id", "external_id", "version", "content_hash", "content", "raw_id",
    "run_id", "mapping_version", "valid_from", "valid_to",
)  # fmt: skip


def write_page_fast(
    engine: Engine,
    *,
    scope: writer.ConnectionScope,
    stream: str,
    run_id: int,
    mapping_version: int,
    records: Sequence[writer.MappedRecord],
    quarantined: Sequence[writer.QuarantineItem],
    state: writer.StreamStateUpdate,
    fetched_at: datetime | None = None,
) -> writer.PageOutcome:
    now = fetched_at or utcnow()
    outcome = writer.PageOutcome()
    texts: dict[tuple[str, str], str] = {}
    keys: list[tuple[str, str]] = []
    for record in records:  # serialized once, before the transaction
        text = dumps_json(record.payload)
        key = (record.external_id, writer.payload_hash(record.payload))
        texts[key] = text
        keys.append(key)
    with engine.begin() as conn:
        driver = _Driver.of(conn)
        _lock(conn, scope.connection_id, stream)
        raw_ids = _write_raw(driver, scope, stream, run_id, texts, now, outcome)
        by_entity: dict[str, dict[str, tuple[CanonicalRecord, int | None]]] = {}
        for record, key in zip(records, keys, strict=True):
            for canonical in record.canonical:
                by_entity.setdefault(canonical.entity, {})[canonical.external_id] = (
                    canonical,
                    raw_ids[key],
                )
        changes: list[Any] = []
        for entity in sorted(by_entity):
            changes.extend(
                _upsert_entity(
                    driver, scope, entity, by_entity[entity], run_id, mapping_version, now, outcome
                )
            )
        hook = getattr(writer, "mark_dirty", None)
        if hook is not None:
            hook(conn, scope, changes, now)
        writer._write_quarantine(conn, scope, stream, run_id, quarantined, now)
        outcome.quarantined = len(quarantined)
        writer.save_state(conn, scope.connection_id, stream, state, now)
        runs = table_of(SyncRun)
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(
                pages=runs.c.pages + 1,
                records=runs.c.records + len(records),
                quarantined=runs.c.quarantined + len(quarantined),
                rows_inserted=runs.c.rows_inserted + outcome.rows_inserted,
                rows_updated=runs.c.rows_updated + outcome.rows_updated,
            )
        )
    return outcome


def _lock(conn: Connection, connection_id: str, stream: str) -> None:
    lock = getattr(writer, "lock_stream", None) or getattr(writer, "_lock_stream")  # noqa: B009
    lock(conn, connection_id, stream)


def _write_raw(
    driver: _Driver,
    scope: writer.ConnectionScope,
    stream: str,
    run_id: int,
    texts: Mapping[tuple[str, str], str],
    now: datetime,
    outcome: writer.PageOutcome,
) -> dict[tuple[str, str], int]:
    ids: dict[tuple[str, str], int] = {}

    def read_back(external_ids: Sequence[str]) -> None:
        for chunk in _chunks(external_ids, 500):
            marks = ", ".join([driver.marker] * len(chunk))
            for row in driver.rows(
                "SELECT id, external_id, payload_hash FROM raw_records WHERE connection_id = "
                f"{driver.marker} AND stream = {driver.marker} AND external_id IN ({marks})",
                [scope.connection_id, stream, *chunk],
            ):
                key = (row[1], row[2])
                if key in texts:
                    ids[key] = row[0]

    read_back(sorted({key[0] for key in texts}))
    missing = sorted(key for key in texts if key not in ids)
    if missing:
        driver.many(
            driver.insert_sql("raw_records", RAW_COLUMNS),
            [(scope.connection_id, stream, k[0], texts[k], k[1], now, run_id) for k in missing],
            [name == "fetched_at" for name in RAW_COLUMNS],
        )
        read_back(sorted({key[0] for key in missing}))
        outcome.raw_inserted += len(missing)
    return ids


def _upsert_entity(
    driver: _Driver,
    scope: writer.ConnectionScope,
    entity: str,
    records: Mapping[str, tuple[CanonicalRecord, int | None]],
    run_id: int,
    mapping_version: int,
    now: datetime,
    outcome: writer.PageOutcome,
) -> list[Any]:
    table = table_of(CANONICAL_TABLES[entity])
    columns = [column.name for column in table.columns if column.name != "id"]
    adapt = [_needs_adapting(table.c[name]) for name in columns]
    keys = sorted(records)
    existing: dict[str, Mapping[str, Any]] = {}
    for chunk in _chunks(keys, 500):  # typed rows: the metrics hook reads ``before``
        for row in driver.conn.execute(
            select(table).where(
                table.c.connection_id == scope.connection_id, table.c.external_id.in_(chunk)
            )
        ):
            existing[row.external_id] = dict(row._mapping)
    new_rows: list[list[Any]] = []
    changed: list[tuple[Mapping[str, Any], dict[str, Any]]] = []
    versions: list[tuple[Any, ...]] = []
    changes: list[Any] = []
    change_type = getattr(writer, "RowChange", None)
    for key in keys:
        record, raw_id = records[key]
        content = writer.canonical_content(record)
        digest = content_hash(content)
        current = existing.get(key)
        if current is not None and current["content_hash"] == digest:
            outcome.rows_unchanged += 1
            continue
        version = 1 if current is None else int(current["version"]) + 1
        values: dict[str, Any] = {
            name: value.value if isinstance(value, Enum) else value
            for name, value in record.model_dump().items()
        }
        values.update(
            raw_id=raw_id,
            mapping_version=mapping_version,
            recorded_at=now,
            version=version,
            content_hash=digest,
        )
        versions.append(
            (entity, scope.connection_id, key, version, digest, dumps_json(content), raw_id,
             run_id, mapping_version, now, None)
        )  # fmt: skip
        if change_type is not None:
            changes.append(change_type(entity, key, None if current is None else current, values))
        if current is None:
            new_row = {
                **values,
                "tenant_id": scope.tenant_id,
                "seller_id": scope.seller_id,
                "connection_id": scope.connection_id,
                "platform": scope.platform,
                "first_seen_at": now,
            }
            new_rows.append([new_row.get(name) for name in columns])
        else:
            changed.append((current, values))
    driver.many(driver.insert_sql(table.name, columns), new_rows, adapt)
    outcome.rows_inserted += len(new_rows)
    if changed:
        names = sorted(changed[0][1])
        sets = ", ".join(f"{name} = {driver.marker}" for name in names)
        driver.many(
            f"UPDATE {table.name} SET {sets} WHERE id = {driver.marker}",
            [[values[name] for name in names] + [current["id"]] for current, values in changed],
        )
        m = driver.marker
        driver.many(
            f"UPDATE canonical_versions SET valid_to = {m} WHERE entity = {m} AND "
            f"connection_id = {m} AND external_id = {m} AND valid_to IS NULL",
            [(now, entity, scope.connection_id, values["external_id"]) for _, values in changed],
        )
    outcome.rows_updated += len(changed)
    driver.many(
        driver.insert_sql("canonical_versions", VERSION_COLUMNS),
        versions,
        [name in ("valid_from", "valid_to") for name in VERSION_COLUMNS],
    )
    outcome.by_entity[entity] = outcome.by_entity.get(entity, 0) + len(records)
    return changes
