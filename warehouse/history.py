"""Point-in-time reads of the canonical entities, and the lineage of one row.

A canonical row is its current version, current since its ``recorded_at``; every earlier
version is in ``canonical_versions`` with its content and the interval it was current
(``valid_from`` inclusive, ``valid_to`` exclusive; migrations 0007 and 0009). A row "as of" a
moment is the version whose interval contains that moment: what the warehouse knew then, which
is what a credit decision taken then was based on. Reads walk the entity's table in row id
order and, for a moment in the past, take a row's fields from its closed version where the row
has changed since.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, DateTime, Engine, Numeric, and_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from normalizer.schema import ENTITY_MODELS
from warehouse.tables import (
    CANONICAL_TABLES,
    CanonicalVersion,
    Connection,
    RawRecord,
    SyncRun,
    table_of,
)

# the field a time range filters on, per entity (accounts and order lines have none)
TIME_FIELDS: dict[str, str] = {
    "orders": "placed_at",
    "refunds": "created_at",
    "transactions": "occurred_at",
    "payouts": "created_at",
    "disputes": "opened_at",
}
MAX_LIMIT = 1000


class UnknownEntity(ValueError):
    def __init__(self, entity: str) -> None:
        super().__init__(f"unknown entity {entity!r} (known: {', '.join(sorted(ENTITY_MODELS))})")


class RowNotFound(LookupError):
    pass


class AmbiguousRow(LookupError):
    """The external id exists on several connections: name the connection."""


def _check_entity(entity: str) -> None:
    if entity not in CANONICAL_TABLES:
        raise UnknownEntity(entity)


def _aware(value: datetime, name: str) -> datetime:
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _converters(entity: str) -> dict[str, Any]:
    """Content JSON (decimals and times as text) back to Python values, by column type."""
    table = table_of(CANONICAL_TABLES[entity])
    converters: dict[str, Any] = {}
    for name in ENTITY_MODELS[entity].model_fields:
        column_type = table.c[name].type
        storage = getattr(column_type, "impl_instance", column_type)  # under a TypeDecorator
        if isinstance(storage, Numeric):
            converters[name] = Decimal
        elif isinstance(storage, DateTime):
            converters[name] = _parse_time
        elif isinstance(storage, Date):
            converters[name] = date.fromisoformat
    return converters


def typed_content(entity: str, content: Mapping[str, Any]) -> dict[str, Any]:
    """A version's stored content with Decimal amounts, UTC datetimes and dates."""
    return _typed(content, _converters(entity))


def _typed(content: Mapping[str, Any], converters: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in content.items():
        convert = converters.get(name)
        out[name] = value if value is None or convert is None else convert(str(value))
    return out


def _second_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def rows_as_of(
    engine: Engine,
    entity: str,
    *,
    tenant_id: str,
    as_of: datetime | None,
    seller_id: str | None = None,
    platform: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The tenant's ``entity`` rows as known at ``as_of`` (None: now), in row id order.

    Each dict has the entity's fields by schema name (Decimal, UTC datetime, date) plus ``id``
    (the canonical row's id, the same for all its versions: pass the last one as ``after_id``
    for the next page), ``external_id``, ``seller_id``, ``connection_id``, ``platform``, and the
    lineage of the version shown: ``version``, ``raw_id``, ``mapping_version``, ``valid_from``.
    ``since`` (inclusive) and ``until`` (exclusive) filter on the entity's time field
    (``TIME_FIELDS``); they are refused for accounts and order lines.
    """
    _check_entity(entity)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    as_of = None if as_of is None else _aware(as_of, "as_of")
    since = None if since is None else _aware(since, "since")
    until = None if until is None else _aware(until, "until")
    field = TIME_FIELDS.get(entity)
    if field is None and (since is not None or until is not None):
        raise ValueError(f"{entity} have no time field to filter on")
    versions = table_of(CanonicalVersion)
    connections = table_of(Connection)
    table = table_of(CANONICAL_TABLES[entity])
    field_names = tuple(ENTITY_MODELS[entity].model_fields)
    query = (
        select(
            table.c.id,
            table.c.external_id,
            table.c.connection_id,
            table.c.version,
            table.c.raw_id,
            table.c.mapping_version,
            table.c.recorded_at,
            connections.c.seller_id,
            connections.c.platform,
            *(table.c[name].label(f"row_{name}") for name in field_names),
        )
        .join(connections, connections.c.id == table.c.connection_id)
        .where(connections.c.tenant_id == tenant_id)
        .order_by(table.c.id)
    )
    # A row is shown as it is now when that version was already current at as_of (always when
    # as_of is None), else as its closed version current at as_of; a row first seen after
    # as_of has neither and is left out.
    current: list[ColumnElement[bool]] = []
    if as_of is not None:
        current.append(table.c.recorded_at <= as_of)
        query = query.add_columns(
            versions.c.id.label("closed_id"),
            versions.c.version.label("closed_version"),
            versions.c.content.label("closed_content"),
            versions.c.raw_id.label("closed_raw_id"),
            versions.c.mapping_version.label("closed_mapping_version"),
            versions.c.valid_from.label("closed_valid_from"),
        ).outerjoin(
            versions,
            and_(
                table.c.recorded_at > as_of,
                versions.c.entity == entity,
                versions.c.connection_id == table.c.connection_id,
                versions.c.external_id == table.c.external_id,
                versions.c.valid_from <= as_of,
                versions.c.valid_to > as_of,
            ),
        )
    closed: list[ColumnElement[bool]] = [versions.c.id.is_not(None)]
    if seller_id is not None:
        query = query.where(connections.c.seller_id == seller_id)
    if platform is not None:
        query = query.where(connections.c.platform == platform)
    if field is not None:
        if since is not None:
            current.append(table.c[field] >= since)
        if until is not None:
            current.append(table.c[field] < until)
        if as_of is not None:
            # Stored times are RFC 3339 text ("...T03:04:05Z", a fraction only when there is
            # one). Text comparison against whole-second prefixes is a superset of the exact
            # range; the exact bounds are applied below on the parsed value.
            moment = versions.c.content[field].as_string()
            if engine.dialect.name == "postgresql":
                moment = moment.collate("C")  # byte order, as on SQLite
            if since is not None:
                closed.append(moment >= _second_text(since))
            if until is not None:
                closed.append(moment < _second_text(until + timedelta(seconds=1)))
    if as_of is None:
        query = query.where(*current)
    else:
        query = query.where(or_(and_(*current), and_(*closed)))
    converters = _converters(entity)
    out: list[dict[str, Any]] = []
    cursor = after_id
    with engine.connect() as conn:
        while len(out) < limit:
            page = query if cursor is None else query.where(table.c.id > cursor)
            rows = list(conn.execute(page.limit(limit)))
            for row in rows:
                cursor = row.id
                found = _version_shown(row, field_names, converters)
                if field is not None:
                    when = found[field]
                    if (since is not None and when < since) or (
                        until is not None and when >= until
                    ):
                        continue
                out.append(found)
                if len(out) == limit:
                    break
            if len(rows) < limit:
                break
    return out


def _version_shown(
    row: Any, field_names: tuple[str, ...], converters: Mapping[str, Any]
) -> dict[str, Any]:
    """The typed fields and lineage of the version a read returns: the closed version it
    joined, else the canonical row's own."""
    shared = {
        "id": row.id,
        "external_id": row.external_id,
        "seller_id": row.seller_id,
        "connection_id": row.connection_id,
        "platform": row.platform,
    }
    if getattr(row, "closed_id", None) is not None:
        return {
            **_typed(row.closed_content, converters),
            **shared,
            "version": row.closed_version,
            "raw_id": row.closed_raw_id,
            "mapping_version": row.closed_mapping_version,
            "valid_from": row.closed_valid_from,
        }
    return {
        **{name: getattr(row, f"row_{name}") for name in field_names},
        **shared,
        "version": row.version,
        "raw_id": row.raw_id,
        "mapping_version": row.mapping_version,
        "valid_from": row.recorded_at,
    }


def lineage(
    engine: Engine,
    entity: str,
    tenant_id: str,
    external_id: str,
    connection_id: str | None = None,
) -> dict[str, Any]:
    """Where a canonical row came from: its raw record (as stored, buyer PII removed), the sync
    run that fetched it, the connector (platform and stream), the mapping version, and every
    version of the row with its own raw record and run (the closed ones from
    ``canonical_versions``, then the row's own).

    Raises ``RowNotFound``, or ``AmbiguousRow`` when several connections have the id.
    """
    _check_entity(entity)
    table = table_of(CANONICAL_TABLES[entity])
    tenant_connections = select(table_of(Connection).c.id).where(
        table_of(Connection).c.tenant_id == tenant_id
    )
    # through the natural key (connection_id, external_id): there is no tenant_id index
    query = select(table).where(
        table.c.connection_id.in_(tenant_connections),
        table.c.external_id == external_id,
        table.c.tenant_id == tenant_id,
    )
    if connection_id is not None:
        query = query.where(table.c.connection_id == connection_id)
    versions = table_of(CanonicalVersion)
    raws = table_of(RawRecord)
    runs = table_of(SyncRun)
    with engine.connect() as conn:
        found = list(conn.execute(query.limit(2)))
        if not found:
            raise RowNotFound(f"no {entity} row {external_id!r} for this tenant")
        if len(found) > 1:
            raise AmbiguousRow(
                f"{entity} {external_id!r} exists on several connections: give connection_id"
            )
        current = found[0]
        history = list(
            conn.execute(
                select(versions)
                .where(
                    versions.c.entity == entity,
                    versions.c.connection_id == current.connection_id,
                    versions.c.external_id == external_id,
                    # read apart from the row: a version closed since is not listed twice
                    versions.c.version < current.version,
                )
                .order_by(versions.c.version)
            )
        )
        raw = None
        if current.raw_id is not None:
            raw = conn.execute(select(raws).where(raws.c.id == current.raw_id)).first()
        run = None
        if raw is not None and raw.run_id is not None:
            run = conn.execute(select(runs).where(runs.c.id == raw.run_id)).first()
    converters = _converters(entity)
    current_fields = {name: getattr(current, name) for name in ENTITY_MODELS[entity].model_fields}
    return {
        "entity": entity,
        "external_id": external_id,
        "tenant_id": current.tenant_id,
        "seller_id": current.seller_id,
        "connection_id": current.connection_id,
        "platform": current.platform,
        "version": current.version,
        "mapping_version": current.mapping_version,
        "first_seen_at": current.first_seen_at,
        "recorded_at": current.recorded_at,
        "current": current_fields,
        "raw_record": None
        if raw is None
        else {
            "id": raw.id,
            "stream": raw.stream,
            "payload": raw.payload,
            "payload_hash": raw.payload_hash,
            "fetched_at": raw.fetched_at,
            "run_id": raw.run_id,
        },
        "connector": {"platform": current.platform, "stream": None if raw is None else raw.stream},
        "sync_run": None
        if run is None
        else {
            "id": run.id,
            "stream": run.stream,
            "trigger": run.trigger,
            "status": run.status,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
        },
        "versions": [
            *(
                {
                    "version": v.version,
                    "valid_from": v.valid_from,
                    "valid_to": v.valid_to,
                    "content": _typed(v.content, converters),
                    "content_hash": v.content_hash,
                    "raw_id": v.raw_id,
                    "run_id": v.run_id,
                    "mapping_version": v.mapping_version,
                }
                for v in history
            ),
            {
                "version": current.version,
                "valid_from": current.recorded_at,
                "valid_to": None,
                "content": current_fields,
                "content_hash": current.content_hash,
                "raw_id": current.raw_id,
                "run_id": current.run_id,
                "mapping_version": current.mapping_version,
            },
        ],
    }
