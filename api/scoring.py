"""The scoring API: sellers, their connections with health, every canonical entity (filtered, as of
any past moment, in cursor pages), lineage of a row, and daily seller metrics.

Every route needs a key with the ``read`` scope and is confined to the key's tenant: another
tenant's seller or row answers 404, exactly like one that does not exist. Handlers are plain
functions (FastAPI runs them in its thread pool) because the warehouse calls are synchronous.
No ``from __future__ import annotations`` here: the per-entity routes are made in a loop and
FastAPI must resolve their (closure) annotations at once.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.security import APIKeyHeader, HTTPBearer
from pydantic import WithJsonSchema
from sqlalchemy import Engine
from sqlmodel import Session

from api.auth import ApiError, require_scope
from api.schemas import (
    ENTITY_ITEMS,
    ConnectionItem,
    ConnectionList,
    DailyMetricList,
    ErrorBody,
    Lineage,
    Page,
    RollingMetrics,
    SellerItem,
    SellerList,
)
from connectors.registry import connector_names
from sellerhub import control
from sellerhub.apikeys import Principal
from vault.errors import SecretNotFound
from vault.store import SecretRef
from warehouse import history, metrics
from warehouse.queries import summarize
from warehouse.tables import Seller

MAX_PAGE = 500
ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,64}$"
EXTERNAL_ID_PATTERN = r"^[^\x00-\x1f/]{1,255}$"
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$", re.ASCII
)


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("A parameter is wrong in a way its schema cannot say (an invalid cursor)."),
    401: _error("No API key, or one that is not valid."),
    403: _error("The API key lacks the 'read' scope."),
    404: _error("No such resource in this tenant."),
    422: _error("A parameter is malformed or out of range; the message names it."),
}

# Declared for /docs and /openapi.json; api.auth.require_scope does the checking.
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer shk_…")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="or X-API-Key: shk_…")

router = APIRouter(
    prefix="/v1",
    tags=["scoring"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(_bearer), Depends(_api_key)],
)

Reader = Annotated[Principal, Depends(require_scope("read"))]


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.runtime.engine
    return engine


def _invalid(message: str) -> ApiError:
    return ApiError(422, "invalid_request", message)


# --------------------------------------------------------------------------- parameters


def parse_time(name: str, text: str | None) -> datetime | None:
    """An RFC 3339 time with its offset, as UTC; naive or out-of-range times are a 422."""
    if text is None:
        return None
    if not RFC3339.match(text):
        raise _invalid(
            f"{name} must be an RFC 3339 time with a timezone, e.g. 2024-01-31T00:00:00Z"
        )
    try:
        moment = datetime.fromisoformat(text.upper().replace(" ", "T")).astimezone(UTC)
    except (ValueError, OverflowError):
        raise _invalid(f"{name} is not a valid time: {text}") from None
    if not EARLIEST <= moment < LATEST:
        raise _invalid(f"{name} must lie between 1970 and 2999")
    return moment


def check_day(name: str, day: date) -> date:
    if not EARLIEST.date() <= day < LATEST.date():
        raise _invalid(f"{name} must lie between 1970-01-01 and 2999-12-31")
    return day


def check_platform(platform: str | None) -> str | None:
    if platform is not None and platform not in connector_names():
        raise _invalid(f"platform must be one of {', '.join(connector_names())}")
    return platform


# Schema-only string types: the handlers validate them (a 422 that names the parameter).
RfcTime = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time", "maxLength": 40})]
PlatformName = Annotated[str, WithJsonSchema({"type": "string", "enum": connector_names()})]

SellerFilter = Annotated[
    str | None, Query(description="Only this seller", pattern=ID_PATTERN, max_length=64)
]
SellerPath = Annotated[str, Path(description="The seller's id", pattern=ID_PATTERN, max_length=64)]
PlatformParam = Annotated[PlatformName | None, Query(description="Only this platform")]
SinceParam = Annotated[
    RfcTime | None,
    Query(
        description="Only rows whose main time (placed_at, created_at, occurred_at, opened_at) "
        "is at or after this RFC 3339 time (with its timezone)"
    ),
]
UntilParam = Annotated[
    RfcTime | None,
    Query(description="Only rows whose main time is before this RFC 3339 time"),
]
AsOfParam = Annotated[
    RfcTime | None,
    Query(
        description="What the warehouse knew at this RFC 3339 moment; default: now. A cursor "
        "keeps the moment of its first page, so a walk sees one consistent state."
    ),
]
LimitParam = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Rows per page (1-500)")]
CursorParam = Annotated[
    str | None,
    Query(description="next_cursor of the previous page (opaque)", max_length=1024),
]


@dataclass(frozen=True)
class Filters:
    """What a page of rows is selected by; a cursor carries them so later pages stay the same."""

    seller_id: str | None
    platform: str | None
    since: datetime | None
    until: datetime | None
    as_of: datetime | None


@dataclass(frozen=True)
class ListQuery:
    filters: Filters
    limit: int
    cursor: str | None


def timed_list_query(
    seller_id: SellerFilter = None,
    platform: PlatformParam = None,
    since: SinceParam = None,
    until: UntilParam = None,
    as_of: AsOfParam = None,
    limit: LimitParam = 100,
    cursor: CursorParam = None,
) -> ListQuery:
    filters = Filters(
        seller_id=seller_id,
        platform=check_platform(platform),
        since=parse_time("since", since),
        until=parse_time("until", until),
        as_of=parse_time("as_of", as_of),
    )
    return ListQuery(filters, limit, cursor)


def untimed_list_query(
    seller_id: SellerFilter = None,
    platform: PlatformParam = None,
    as_of: AsOfParam = None,
    limit: LimitParam = 100,
    cursor: CursorParam = None,
) -> ListQuery:
    """Accounts and order lines have no time of their own: no since/until."""
    return timed_list_query(seller_id, platform, None, None, as_of, limit, cursor)


# --------------------------------------------------------------------------- cursors

_CURSOR_REF = SecretRef("api", "scoring", "cursor_signing_key")
_key_lock = threading.Lock()


def _cursor_key(request: Request) -> bytes:
    """The HMAC key for cursors: made once, kept in the vault, cached on the app."""
    cached: bytes | None = getattr(request.app.state, "cursor_key", None)
    if cached is not None:
        return cached
    with _key_lock:
        vault = request.app.state.runtime.vault
        try:
            key = bytes(vault.get(_CURSOR_REF))
        except SecretNotFound:
            vault.put(_CURSOR_REF, secrets.token_bytes(32))
            key = bytes(vault.get(_CURSOR_REF))
        request.app.state.cursor_key = key
        return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _filters_json(filters: Filters) -> dict[str, str | None]:
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in asdict(filters).items()
    }


# what "a" counts: canonical row ids (migration 0009). Cursors without it counted version-row
# ids, which no longer order a walk: they are refused as invalid rather than resumed wrongly.
CURSOR_KIND = "row"


def encode_cursor(key: bytes, tenant_id: str, entity: str, after_id: int, filters: Filters) -> str:
    body = json.dumps(
        {"t": tenant_id, "e": entity, "k": CURSOR_KIND, "a": after_id, "f": _filters_json(filters)},
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    mac = hmac.new(key, body, hashlib.sha256).digest()[:16]
    return f"{_b64(body)}.{_b64(mac)}"


def decode_cursor(key: bytes, tenant_id: str, entity: str, cursor: str) -> tuple[int, Filters]:
    """The row id to continue after and the filters of the walk; a 400 for anything else."""
    invalid = ApiError(400, "invalid_cursor", "cursor is not one this API issued for this list")
    try:
        body_text, mac_text = cursor.split(".")
        body, mac = _unb64(body_text), _unb64(mac_text)
    except (ValueError, binascii.Error):
        raise invalid from None
    expected = hmac.new(key, body, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(mac, expected):
        raise invalid
    try:  # signed by us, so well formed unless the format changed since it was issued
        state = json.loads(body)
        raw = state["f"]
        filters = Filters(
            seller_id=raw["seller_id"],
            platform=raw["platform"],
            since=_from_iso(raw["since"]),
            until=_from_iso(raw["until"]),
            as_of=_from_iso(raw["as_of"]),
        )
        after_id = int(state["a"])
    except (ValueError, KeyError, TypeError):
        raise invalid from None
    if state.get("t") != tenant_id or state.get("e") != entity or state.get("k") != CURSOR_KIND:
        raise invalid
    return after_id, filters


def _from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def _walk_filters(given: Filters, from_cursor: Filters) -> Filters:
    """The cursor's filters; a filter also given with the cursor must be the same."""
    for name, value in asdict(given).items():
        if value is not None and value != getattr(from_cursor, name):
            raise ApiError(
                400,
                "cursor_mismatch",
                f"{name} differs from the query the cursor belongs to; drop it or start over",
            )
    return from_cursor


# --------------------------------------------------------------------------- tenant confinement


def own_seller(engine: Engine, tenant_id: str, seller_id: str) -> Seller:
    with Session(engine) as session:
        seller = session.get(Seller, seller_id)
        if seller is None or seller.tenant_id != tenant_id:
            raise ApiError(404, "not_found", f"no seller {seller_id}")
        session.expunge(seller)
        return seller


# --------------------------------------------------------------------------- sellers


def _seller_item(seller: Seller) -> SellerItem:
    return SellerItem(
        id=seller.id, reference=seller.reference, name=seller.name, created_at=seller.created_at
    )


@router.get("/sellers", response_model=SellerList, summary="The tenant's sellers")
def list_sellers(request: Request, principal: Reader) -> SellerList:
    sellers = control.list_sellers(_engine(request), principal.tenant_id)
    return SellerList(data=[_seller_item(s) for s in sellers])


@router.get("/sellers/{seller_id}", response_model=SellerItem, summary="One seller")
def get_seller(request: Request, principal: Reader, seller_id: SellerPath) -> SellerItem:
    return _seller_item(own_seller(_engine(request), principal.tenant_id, seller_id))


@router.get(
    "/sellers/{seller_id}/connections",
    response_model=ConnectionList,
    summary="A seller's connections with their sync health",
)
def seller_connections(
    request: Request, principal: Reader, seller_id: SellerPath
) -> ConnectionList:
    engine = _engine(request)
    own_seller(engine, principal.tenant_id, seller_id)
    items = []
    for connection in control.list_connections(
        engine, tenant_id=principal.tenant_id, seller_id=seller_id
    ):
        summary = summarize(engine, connection)
        items.append(
            ConnectionItem(
                id=connection.id,
                seller_id=connection.seller_id,
                platform=connection.platform,
                environment=connection.environment,
                platform_account_id=connection.platform_account_id,
                status=connection.status,
                health=summary.health,
                last_success=summary.last_success,
                last_error=summary.last_error,
                counts=summary.counts,
                quarantined=summary.quarantined,
                mapping_up_to_date=summary.mapping_reminder is None,
            )
        )
    return ConnectionList(data=items)


# --------------------------------------------------------------------------- canonical entities


def _row_id(row: dict[str, Any]) -> int:
    return int(row["id"])


def list_rows(
    request: Request, principal: Principal, entity: str, query: ListQuery
) -> dict[str, Any]:
    engine = _engine(request)
    key = _cursor_key(request)
    filters = query.filters
    after_id: int | None = None
    if query.cursor is not None:
        after_id, from_cursor = decode_cursor(key, principal.tenant_id, entity, query.cursor)
        filters = _walk_filters(filters, from_cursor)
    elif filters.as_of is None:
        # pin the walk to this moment: rows changing meanwhile neither repeat nor vanish
        filters = Filters(**{**asdict(filters), "as_of": datetime.now(UTC)})
    if filters.seller_id is not None:
        own_seller(engine, principal.tenant_id, filters.seller_id)
    rows = history.rows_as_of(
        engine,
        entity,
        tenant_id=principal.tenant_id,
        as_of=filters.as_of,
        seller_id=filters.seller_id,
        platform=filters.platform,
        since=filters.since,
        until=filters.until,
        after_id=after_id,
        limit=query.limit + 1,
    )
    page, more = rows[: query.limit], len(rows) > query.limit
    next_cursor = (
        encode_cursor(key, principal.tenant_id, entity, _row_id(page[-1]), filters)
        if more
        else None
    )
    # validated and serialized by the route's response model (extra keys are dropped)
    return {"data": page, "next_cursor": next_cursor}


def lineage_of(
    request: Request, principal: Principal, entity: str, external_id: str, connection_id: str | None
) -> Lineage:
    try:
        found = history.lineage(
            _engine(request), entity, principal.tenant_id, external_id, connection_id
        )
    except history.RowNotFound:
        raise ApiError(404, "not_found", f"no {entity} row {external_id}") from None
    except history.AmbiguousRow:
        raise ApiError(
            400,
            "ambiguous",
            f"{entity} {external_id} is on several connections: give connection_id",
        ) from None
    return Lineage.model_validate(found)


def _entity_routes(entity: str) -> None:
    item = ENTITY_ITEMS[entity]
    page_model = Page[item]  # type: ignore[valid-type]
    query_dependency = timed_list_query if entity in history.TIME_FIELDS else untimed_list_query

    def list_entity(
        request: Request,
        principal: Reader,
        query: Annotated[ListQuery, Depends(query_dependency)],
    ) -> Any:
        return list_rows(request, principal, entity, query)

    def entity_lineage(
        request: Request,
        principal: Reader,
        external_id: Annotated[
            str, Path(description="The platform's id", pattern=EXTERNAL_ID_PATTERN, max_length=255)
        ],
        connection_id: Annotated[
            str | None,
            Query(description="Which connection, when two hold the same id", pattern=ID_PATTERN),
        ] = None,
    ) -> Lineage:
        return lineage_of(request, principal, entity, external_id, connection_id)

    noun = entity.replace("_", " ")
    router.add_api_route(
        f"/{entity}",
        list_entity,
        methods=["GET"],
        response_model=page_model,
        summary=f"Canonical {noun}, as known now or at as_of",
        operation_id=f"list_{entity}",
    )
    router.add_api_route(
        f"/{entity}/{{external_id}}/lineage",
        entity_lineage,
        methods=["GET"],
        response_model=Lineage,
        summary=f"Lineage of one of the {noun}: raw record, sync run, mapping, versions",
        operation_id=f"lineage_{entity}",
    )


for _entity in ENTITY_ITEMS:
    _entity_routes(_entity)


# --------------------------------------------------------------------------- daily metrics

MAX_METRIC_DAYS = 1096
WindowDays = Annotated[int, WithJsonSchema({"type": "integer", "enum": list(metrics.WINDOWS)})]
MetricsPlatform = Annotated[
    PlatformName | None,
    Query(description="One platform; without it, the seller's total over all its platforms"),
]


@router.get(
    "/sellers/{seller_id}/metrics/daily",
    response_model=DailyMetricList,
    summary="A seller's daily metrics in the reporting currency (days with activity)",
)
def daily_metrics(
    request: Request,
    principal: Reader,
    seller_id: SellerPath,
    start: Annotated[date, Query(description="First day (UTC), included")],
    end: Annotated[date, Query(description="Last day (UTC), included")],
    platform: MetricsPlatform = None,
) -> DailyMetricList:
    engine = _engine(request)
    own_seller(engine, principal.tenant_id, seller_id)
    check_day("start", start)
    check_day("end", end)
    if end < start:
        raise _invalid("end is before start")
    if (end - start).days >= MAX_METRIC_DAYS:
        raise _invalid(f"ask for at most {MAX_METRIC_DAYS} days at once")
    rows = metrics.daily(
        engine,
        tenant_id=principal.tenant_id,
        seller_id=seller_id,
        platform=check_platform(platform),
        start=start,
        end=end,
    )
    return DailyMetricList.model_validate({"data": rows})


@router.get(
    "/sellers/{seller_id}/metrics/rolling",
    response_model=RollingMetrics,
    summary="A seller's figures over the 30, 90 or 365 days ending with a day",
    responses={409: _error("The daily rows are in several currencies: rebuild the metrics.")},
)
def rolling_metrics(
    request: Request,
    principal: Reader,
    seller_id: SellerPath,
    day: Annotated[date, Query(description="Last day of the window (UTC), included")],
    window: Annotated[WindowDays, Query(description="Window length in days: 30, 90 or 365")] = 30,
    platform: MetricsPlatform = None,
) -> RollingMetrics:
    engine = _engine(request)
    own_seller(engine, principal.tenant_id, seller_id)
    check_day("day", day)
    if window not in metrics.WINDOWS:
        raise _invalid(f"window must be one of {', '.join(map(str, metrics.WINDOWS))}")
    try:
        figures = metrics.rolling(
            engine,
            tenant_id=principal.tenant_id,
            seller_id=seller_id,
            platform=check_platform(platform),
            day=day,
            window_days=window,
        )
    except ValueError as mixed:
        # the only other refusal (the window) is checked above: daily rows of an earlier
        # reporting currency remain until `sellerhub metrics rebuild`
        raise ApiError(409, "metrics_stale", str(mixed)) from None
    return RollingMetrics.model_validate(figures)
