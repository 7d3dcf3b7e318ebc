"""The connected account's read API: account, charges, refunds, balance transactions, payouts,
disputes. List envelope, cursors and ``created[...]`` filters per
https://docs.stripe.com/api/pagination; errors per https://docs.stripe.com/api/errors.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from sandbox.stripe.facts import API_VERSION, DEFAULT_PAGE, MAX_PAGE, RATE_LIMIT_BUCKET
from sandbox.stripe.model import Account
from sandbox.stripe.render import (
    account_json,
    balance_transaction_json,
    charge_json,
    dispute_json,
    payout_json,
    refund_json,
)
from sandbox.stripe.world import Range, StripeWorld, UnknownCursor, paginate

RATE_LIMITED = {
    "type": "invalid_request_error",
    "code": "rate_limit",
    "message": "Too many requests hit the API too quickly. "
    "We recommend an exponential backoff of your requests.",
    "doc_url": "https://stripe.com/docs/error-codes/rate-limit",
}


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        kind: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"type": kind, "message": message}
        if code:
            self.body["code"] = code
            self.body["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param:
            self.body["param"] = param


def fault_error(status: int) -> tuple[dict[str, Any], dict[str, str]]:
    headers = {"Request-Id": _request_id(), "Stripe-Version": API_VERSION}
    if status == 429:
        return {"error": RATE_LIMITED}, headers
    if status >= 500:
        message = "An unknown error occurred. Please retry your request."
        return {"error": {"type": "api_error", "message": message}}, headers
    return {"error": {"type": "invalid_request_error", "message": "Invalid request."}}, headers


def _request_id() -> str:
    return "req_" + secrets.token_urlsafe(10).replace("-", "a").replace("_", "b")


def _mask(token: str) -> str:
    """Stripe shows only a prefix and the last four characters of a key."""
    prefix = token[: token.find("_", 3) + 1] if token.startswith(("sk_", "rk_")) else ""
    return f"{prefix}{'*' * 24}{token[-4:]}" if len(token) > 8 else "***"


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    if header.lower().startswith("basic "):
        try:
            return base64.b64decode(header[6:]).decode().partition(":")[0] or None
        except ValueError:
            return None
    return None


def _int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise StripeError(400, f"Invalid integer: {raw}", param=name) from exc


def _range(request: Request, name: str) -> Range:
    exact = _int(request, name)
    if exact is not None:
        return Range(gte=exact, lte=exact)
    return Range(**{op: _int(request, f"{name}[{op}]") for op in ("gt", "gte", "lt", "lte")})


Lister = Callable[[Request, Account], dict[str, Any]]


def api_router(world: StripeWorld) -> APIRouter:
    router = APIRouter()
    core = world.core

    def guarded(request: Request, handler: Callable[[Account], dict[str, Any]]) -> Response:
        core.stats.api_request()
        headers = {
            "Request-Id": _request_id(),
            "Stripe-Version": request.headers.get("stripe-version", API_VERSION),
        }
        try:
            account = _authenticate(request)
            if not core.limiter.acquire(account.id, RATE_LIMIT_BUCKET):
                core.stats.limited()
                return JSONResponse({"error": RATE_LIMITED}, status_code=429, headers=headers)
            return JSONResponse(handler(account), headers=headers)
        except StripeError as error:
            return JSONResponse({"error": error.body}, status_code=error.status, headers=headers)

    def _authenticate(request: Request) -> Account:
        token = _bearer(request)
        if token is None:
            raise StripeError(
                401,
                "You did not provide an API key. You need to provide your API key "
                "in the Authorization header, using Bearer auth.",
            )
        check = core.grants.check_access(token)
        account = world.account(check.account) if check.account else None
        if check.problem == "expired":
            raise StripeError(
                401, f"Expired API Key provided: {_mask(token)}", code="api_key_expired"
            )
        if check.problem == "revoked" and account is not None:
            raise StripeError(
                401,
                f"The provided key '{_mask(token)}' does not have access to account "
                f"'{account.id}' (or that account does not exist). Application access "
                "may have been revoked.",
            )
        if check.problem is not None or account is None:
            raise StripeError(401, f"Invalid API Key provided: {_mask(token)}")
        requested = request.headers.get("stripe-account")
        if requested and requested != account.id:
            raise StripeError(
                403, f"The provided key does not have access to account '{requested}'."
            )
        return account

    def list_endpoint(
        kind: str,
        render: Callable[[Any, Account, int], dict[str, Any]],
        filters: Callable[[Request], Callable[[Any], bool]],
    ) -> None:
        path = f"/v1/{kind}"

        async def endpoint(request: Request) -> Response:
            def handler(account: Account) -> dict[str, Any]:
                limit = _int(request, "limit")
                limit = DEFAULT_PAGE if limit is None else limit
                if not 1 <= limit <= MAX_PAGE:
                    raise StripeError(
                        400, f"This value must be between 1 and {MAX_PAGE}.", param="limit"
                    )
                after = request.query_params.get("starting_after")
                before = request.query_params.get("ending_before")
                if after and before:
                    raise StripeError(
                        400,
                        "You may only specify one of these parameters: "
                        "ending_before, starting_after.",
                        param="starting_after",
                    )
                created = _range(request, "created")
                extra = filters(request)
                try:
                    page = paginate(
                        world.listing(account.id, kind),
                        limit=limit,
                        starting_after=after,
                        ending_before=before,
                        keep=lambda i: i.created in created and extra(i),
                    )
                except UnknownCursor as exc:
                    param = "starting_after" if after else "ending_before"
                    raise StripeError(
                        400,
                        f"No such object: '{exc.args[0]}'",
                        code="resource_missing",
                        param=param,
                    ) from exc
                now = world.now_ts()
                return {
                    "object": "list",
                    "data": [render(i, account, now) for i in page.items],
                    "has_more": page.has_more,
                    "url": path,
                }

            return guarded(request, handler)

        async def retrieve(request: Request, object_id: str) -> Response:
            def handler(account: Account) -> dict[str, Any]:
                for item in world.listing(account.id, kind):
                    if item.id == object_id:
                        return render(item, account, world.now_ts())
                raise StripeError(
                    404,
                    f"No such {kind.rstrip('s').replace('_', ' ')}: '{object_id}'",
                    code="resource_missing",
                    param="id",
                )

            return guarded(request, handler)

        router.add_api_route(path, endpoint, methods=["GET"])
        router.add_api_route(path + "/{object_id}", retrieve, methods=["GET"])

    def equals(name: str, attr: str) -> Callable[[Request], Callable[[Any], bool]]:
        def build(request: Request) -> Callable[[Any], bool]:
            wanted = request.query_params.get(name)
            return lambda item: wanted is None or getattr(item, attr) == wanted

        return build

    def bt_filters(request: Request) -> Callable[[Any], bool]:
        q = request.query_params
        return lambda bt: all(
            q.get(name) is None or getattr(bt, attr) == q[name]
            for name, attr in (
                ("payout", "payout"),
                ("type", "type"),
                ("source", "source"),
                ("currency", "currency"),
            )
        )

    def payout_filters(request: Request) -> Callable[[Any], bool]:
        arrival = _range(request, "arrival_date")
        status = request.query_params.get("status")
        now = world.now_ts()
        return lambda p: (
            p.arrival_date in arrival
            and (status is None or payout_json(p, now)["status"] == status)
        )

    list_endpoint(
        "charges", lambda c, a, now: charge_json(c, a), equals("payment_intent", "payment_intent")
    )
    list_endpoint("refunds", lambda r, a, now: refund_json(r), equals("charge", "charge"))
    list_endpoint(
        "balance_transactions", lambda b, a, now: balance_transaction_json(b, now), bt_filters
    )
    list_endpoint("payouts", lambda p, a, now: payout_json(p, now), payout_filters)
    list_endpoint("disputes", lambda d, a, now: dispute_json(d, now), equals("charge", "charge"))

    @router.get("/v1/account")
    async def get_account(request: Request) -> Response:
        return guarded(request, account_json)

    return router
