"""SP-API operations: searchOrders, listTransactions, getMarketplaceParticipations.

Each call: token check (``x-amz-access-token``), then the (seller, operation) token bucket, then
the operation. Every answer carries ``x-amzn-RequestId`` and ``x-amzn-RateLimit-Limit``
(https://developer-docs.amazon.com/sp-api/docs/usage-plans-and-rate-limits).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from sandbox.amazon.facts import (
    FULFILLMENT_STATUSES,
    INCLUDED_DATA,
    MAX_POSTED_WINDOW_DAYS,
    TRANSACTIONS_PAGE_SIZE,
)
from sandbox.amazon.model import Seller, Transaction
from sandbox.amazon.render import iso, order_json, participation_json, transaction_json
from sandbox.amazon.world import AmazonWorld
from sandbox.common.decjson import DecimalJSONResponse
from sandbox.common.pagetoken import PageTokenError

ORDERS_PATH = "/orders/2026-01-01/orders"
TRANSACTIONS_PATH = "/finances/2024-06-19/transactions"
PARTICIPATIONS_PATH = "/sellers/v1/marketplaceParticipations"

_AUTH_DETAILS = {
    "missing": "The request has no x-amz-access-token header.",
    "invalid": "The access token you provided is invalid.",
    "expired": "The access token you provided has expired.",
    "revoked": "The selling partner revoked the authorization for this application.",
}
QUOTA_EXCEEDED = {
    "code": "QuotaExceeded",
    "message": "You exceeded your quota for the requested resource.",
}


class InvalidInput(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def error_body(code: str, message: str, details: str | None = None) -> dict[str, Any]:
    error = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"errors": [error]}


def fault_error(status: int) -> tuple[dict[str, Any], dict[str, str]]:
    """The body Amazon sends for an injected status (ErrorList)."""
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    if status == 429:
        return {"errors": [QUOTA_EXCEEDED]}, headers
    if status == 503:
        return error_body("ServiceUnavailable", "Service temporarily unavailable."), headers
    if status >= 500:
        return error_body(
            "InternalFailure", "We encountered an internal error. Please try again."
        ), headers
    return error_body("InvalidInput", "Invalid Input"), headers


def parse_time(name: str, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{name} is not a valid ISO 8601 date-time: {value!r}") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _list_param(request: Request, name: str) -> list[str]:
    """Swagger 2.0 arrays default to ``collectionFormat: csv``; repeated keys also work."""
    values: list[str] = []
    for raw in request.query_params.getlist(name):
        values.extend(v.strip() for v in raw.split(",") if v.strip())
    return values


Handler = Callable[[Request, Seller], Response]


def api_router(world: AmazonWorld) -> APIRouter:
    router = APIRouter()
    core = world.core

    def guarded(request: Request, operation: str, handler: Handler) -> Response:
        core.stats.api_request()
        limit = core.limiter.limit_for(operation)
        headers = {
            "x-amzn-RequestId": str(uuid.uuid4()),
            "x-amzn-RateLimit-Limit": limit.header_value,
        }
        check = core.grants.check_access(request.headers.get("x-amz-access-token"))
        seller = world.seller(check.account) if check.account else None
        if check.problem is not None or seller is None:
            details = _AUTH_DETAILS[check.problem or "invalid"]
            body = error_body("Unauthorized", "Access to requested resource is denied.", details)
            return JSONResponse(body, status_code=403, headers=headers)
        if not core.limiter.acquire(seller.id, operation):
            core.stats.limited()
            return JSONResponse({"errors": [QUOTA_EXCEEDED]}, status_code=429, headers=headers)
        try:
            response = handler(request, seller)
        except InvalidInput as error:
            response = JSONResponse(error_body("InvalidInput", error.message), status_code=400)
        response.headers.update(headers)
        return response

    @router.get(ORDERS_PATH)
    async def search_orders(request: Request) -> Response:
        return guarded(request, "searchOrders", lambda r, s: _search_orders(world, r, s))

    @router.get(TRANSACTIONS_PATH)
    async def list_transactions(request: Request) -> Response:
        return guarded(request, "listTransactions", lambda r, s: _list_transactions(world, r, s))

    @router.get(PARTICIPATIONS_PATH)
    async def participations(request: Request) -> Response:
        return guarded(
            request, "getMarketplaceParticipations", lambda r, s: _participations(world, s)
        )

    return router


def _latest_before(
    world: AmazonWorld, name: str, value: str | None, now: datetime
) -> datetime | None:
    """Explicit ``...Before`` values must be at least two minutes before the request."""
    if value is None:
        return None
    moment = parse_time(name, value)
    if moment > world.horizon(now):
        raise InvalidInput(f"{name} must be at least two minutes before the time of the request.")
    return moment


def _search_orders(world: AmazonWorld, request: Request, seller: Seller) -> Response:
    q = request.query_params
    now = world.core.clock.now()
    created_after, updated_after = q.get("createdAfter"), q.get("lastUpdatedAfter")
    if (created_after is None) == (updated_after is None):
        raise InvalidInput("Exactly one of createdAfter and lastUpdatedAfter must be provided.")
    by_updated = updated_after is not None
    if by_updated and ("createdBefore" in q):
        raise InvalidInput("createdBefore cannot be combined with lastUpdatedAfter.")
    if not by_updated and ("lastUpdatedBefore" in q):
        raise InvalidInput("lastUpdatedBefore cannot be combined with createdAfter.")
    before_name = "lastUpdatedBefore" if by_updated else "createdBefore"
    after = parse_time(
        "lastUpdatedAfter" if by_updated else "createdAfter", updated_after or created_after or ""
    )
    before = _latest_before(world, before_name, q.get(before_name), now)
    marketplaces = _list_param(request, "marketplaceIds")
    if not marketplaces:
        raise InvalidInput("marketplaceIds is required.")
    if len(marketplaces) > 50:
        raise InvalidInput("marketplaceIds accepts at most 50 values.")
    statuses = _list_param(request, "fulfillmentStatuses") or None
    if statuses and not set(statuses) <= set(FULFILLMENT_STATUSES):
        raise InvalidInput("fulfillmentStatuses has an unknown value.")
    included = _list_param(request, "includedData")
    if not set(included) <= set(INCLUDED_DATA):
        raise InvalidInput("includedData has an unknown value.")
    fulfilled_by = _list_param(request, "fulfilledBy")
    if not set(fulfilled_by) <= {"MERCHANT", "AMAZON"}:
        raise InvalidInput("fulfilledBy has an unknown value.")
    try:
        limit = int(q.get("maxResultsPerPage", "100"))
    except ValueError as exc:
        raise InvalidInput("maxResultsPerPage must be an integer.") from exc
    if not 1 <= limit <= 100:
        raise InvalidInput("maxResultsPerPage must be between 1 and 100.")
    signature = "|".join(
        [
            created_after or "",
            updated_after or "",
            q.get(before_name, ""),
            ",".join(marketplaces),
            ",".join(statuses or []),
            ",".join(fulfilled_by),
        ]
    )
    position = None
    if "paginationToken" in q:
        try:
            stored = world.page_tokens.read(q["paginationToken"], signature, now)
        except PageTokenError as exc:
            raise InvalidInput(str(exc)) from exc
        before = datetime.fromisoformat(stored[0])
        position = (stored[1], stored[2])
    upper = before or world.horizon(now)
    if upper < after:
        raise InvalidInput(f"{before_name} must be equal to or after the start of the range.")
    orders, more = world.search_orders(
        seller.id,
        by_updated=by_updated,
        after=after,
        before=upper,
        marketplaces=marketplaces,
        statuses=statuses,
        fulfilled_by=fulfilled_by,
        position=position,
        limit=limit,
    )
    body: dict[str, Any] = {"orders": [order_json(o, included) for o in orders]}
    if more and orders:
        last = orders[-1]
        moment = last.updated if by_updated else last.created
        token = world.page_tokens.issue(
            [upper.isoformat(), moment.isoformat(), last.id], signature, now
        )
        body["pagination"] = {"nextToken": token}
    body[before_name] = iso(upper)
    return JSONResponse(body)


def _list_transactions(world: AmazonWorld, request: Request, seller: Seller) -> Response:
    q = request.query_params
    now = world.core.clock.now()
    related = None
    if q.get("relatedIdentifierName"):
        if q["relatedIdentifierName"] not in ("ORDER_ID", "FINANCIAL_EVENT_GROUP_ID"):
            raise InvalidInput(
                "relatedIdentifierName must be FINANCIAL_EVENT_GROUP_ID or ORDER_ID."
            )
        if not q.get("relatedIdentifierValue"):
            raise InvalidInput("relatedIdentifierValue is required with relatedIdentifierName.")
        related = (q["relatedIdentifierName"], q["relatedIdentifierValue"])
    if q.get("postedAfter") is None and related is None:
        raise InvalidInput("Start date cannot be null")
    after = parse_time("postedAfter", q["postedAfter"]) if q.get("postedAfter") else None
    if after is not None and after > world.horizon(now):
        raise InvalidInput(
            "postedAfter must be more than two minutes before the time of the request."
        )
    before = _latest_before(world, "postedBefore", q.get("postedBefore"), now) or world.horizon(now)
    if after is not None:
        if before <= after:
            raise InvalidInput("postedBefore must be later than postedAfter.")
        if before - after > timedelta(days=MAX_POSTED_WINDOW_DAYS):
            raise InvalidInput("postedAfter and postedBefore must be at most 180 days apart.")
    marketplace = q.get("marketplaceId") or None
    status = q.get("transactionStatus")
    if status is not None and status not in ("DEFERRED", "RELEASED", "DEFERRED_RELEASED"):
        raise InvalidInput("transactionStatus must be DEFERRED, RELEASED or DEFERRED_RELEASED.")
    signature = "|".join(
        [
            q.get(k, "")
            for k in (
                "postedAfter",
                "postedBefore",
                "marketplaceId",
                "transactionStatus",
                "relatedIdentifierName",
                "relatedIdentifierValue",
            )
        ]
    )
    position = None
    if "nextToken" in q:
        try:
            stored = world.page_tokens.read(q["nextToken"], signature, now)
        except PageTokenError as exc:
            raise InvalidInput(str(exc)) from exc
        before = datetime.fromisoformat(stored[0])
        position = (stored[1], stored[2])
    txns: list[Transaction] = []
    more = False
    if status in ("DEFERRED", "DEFERRED_RELEASED"):
        pass  # the sandbox seeds no deferred transactions
    else:
        txns, more = world.list_transactions(
            seller.id,
            after=after,
            before=before,
            marketplace=marketplace,
            related=related,
            position=position,
            limit=TRANSACTIONS_PAGE_SIZE,
        )
    payload: dict[str, Any] = {"transactions": [transaction_json(t) for t in txns]}
    if more and txns:
        last = txns[-1]
        payload["nextToken"] = world.page_tokens.issue(
            [before.isoformat(), last.posted.isoformat(), last.id], signature, now
        )
    return DecimalJSONResponse({"payload": payload})


def _participations(world: AmazonWorld, seller: Seller) -> Response:
    payload = [
        participation_json(marketplace_id, seller.profile.store_name)
        for marketplace_id in world.participations(seller)
    ]
    return JSONResponse({"payload": payload})
