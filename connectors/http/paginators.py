"""Page styles as small pure objects implementing :class:`connectors.model.Paginator`.

They only compute the next request's parameters; the client follows them and stops when a
page token comes back twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from connectors.errors import PlatformContractError
from connectors.http.body import dig
from connectors.model import JsonObject, QueryParams


def _token_of(params: QueryParams, param: str) -> str | None:
    value = params.get(param)
    if isinstance(value, list):
        return ",".join(value) or None
    return value or None


@dataclass(frozen=True)
class NextTokenPaginator:
    """An opaque token in the body, sent back as a query parameter with the same other params.

    Amazon searchOrders answers ``pagination.nextToken`` and takes it as ``paginationToken``;
    ``pagination`` is absent on the last page (orders_2026-01-01.json, ``Pagination``).
    listTransactions answers ``payload.nextToken`` and takes ``nextToken``; its pages may be
    empty while a token is present, so an empty page does not end the walk
    (finances_2024-06-19.json, ``TransactionsPayload``).
    """

    token_path: str
    param: str

    def next_params(
        self, body: JsonObject, records: Sequence[JsonObject], sent: QueryParams
    ) -> QueryParams | None:
        token = dig(body, self.token_path)
        if token is None or token == "":
            return None
        if not isinstance(token, str):
            raise PlatformContractError(
                f"{self.token_path} should be a string, got {type(token).__name__}"
            )
        return {**sent, self.param: token}

    def page_token(self, params: QueryParams) -> str | None:
        return _token_of(params, self.param)


@dataclass(frozen=True)
class StartingAfterPaginator:
    """Stripe list cursors: while ``has_more``, ask for the objects after the last one's ``id``.

    The list envelope is ``{"object":"list","data":[...],"has_more":bool}`` and ``starting_after``
    takes an object id (https://docs.stripe.com/api/pagination).
    """

    param: str = "starting_after"
    id_field: str = "id"
    has_more_field: str = "has_more"

    def next_params(
        self, body: JsonObject, records: Sequence[JsonObject], sent: QueryParams
    ) -> QueryParams | None:
        has_more = body.get(self.has_more_field)
        if not isinstance(has_more, bool):
            raise PlatformContractError(
                f"list body has no boolean {self.has_more_field!r} (got {type(has_more).__name__})"
            )
        if not has_more:
            return None
        if not records:
            raise PlatformContractError(f"{self.has_more_field} is true but the page is empty")
        last_id = dig(records[-1], self.id_field)
        if not isinstance(last_id, str) or not last_id:
            raise PlatformContractError(f"the last record of the page has no {self.id_field!r}")
        return {**sent, self.param: last_id}

    def page_token(self, params: QueryParams) -> str | None:
        return _token_of(params, self.param)
