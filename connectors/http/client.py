"""The one HTTP client: auth + paginator + retry + rate limit, composed for one platform account.

Connectors never subclass it; a stream (path, records path, paginator, bucket) is all it needs.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Self

import httpx

from connectors.errors import (
    PaginationLoopError,
    PlatformContractError,
    ReauthorizationRequired,
    RequestRejected,
)
from connectors.http.body import dig, parse_json_object, platform_error
from connectors.http.ratelimit import RateBudget
from connectors.http.retry import RetryPolicy
from connectors.model import JsonObject, Page, PlatformFacts, QueryParams, Stream

log = logging.getLogger(__name__)

# SP-API asks every caller to identify itself
# (https://developer-docs.amazon.com/sp-api/docs/include-a-user-agent-header-in-all-requests)
USER_AGENT = "sellerhub/0.1 (Language=Python)"


def encode_query(params: QueryParams, style: str) -> httpx.QueryParams:
    """Query pairs; lists repeat the key, or join with commas when ``style == "csv"``."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if isinstance(value, list):
            if style == "csv":
                pairs.append((key, ",".join(value)))
            else:
                pairs.extend((key, item) for item in value)
        else:
            pairs.append((key, value))
    return httpx.QueryParams(tuple(pairs))


class PlatformClient:
    """One ``httpx.AsyncClient`` for one platform account."""

    def __init__(
        self,
        facts: PlatformFacts,
        *,
        base_url: str,
        auth: httpx.Auth | None,
        budget: RateBudget,
        retry: RetryPolicy,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30,
    ) -> None:
        self.facts = facts
        self.base_url = base_url.rstrip("/")
        self.budget = budget
        self.retry = retry
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=auth,
            headers={
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
                **facts.default_headers,
                **(headers or {}),
            },
            transport=transport,
            timeout=timeout,
        )

    def __repr__(self) -> str:
        return f"PlatformClient({self.facts.name!r}, base_url={self.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def fetch_page(self, stream: Stream, params: QueryParams) -> Page:
        """One page of ``stream``. ``params`` are added to (and override) ``stream.params``."""
        sent: QueryParams = {**stream.params, **params}
        what = f"{self.facts.name} {stream.name}"
        query = encode_query(sent, self.facts.query_array_style)

        async def attempt() -> httpx.Response:
            async with self.budget.slot(stream.bucket):
                try:
                    response = await self._http.get(stream.path, params=query)
                except httpx.TransportError as exc:
                    raise self.retry.error_for_transport(exc, what) from exc
            await self.budget.observe(stream.bucket, response)
            error = self.retry.error_for_response(response, what)
            if error is not None:
                raise error
            return response

        response = await self.retry.run(attempt, what)
        self._raise_for_status(response, what)
        body = parse_json_object(response.content, response.encoding)
        if body is None:
            raise PlatformContractError(
                f"{what}: HTTP {response.status_code} body is not a JSON object",
                status_code=response.status_code,
            )
        records = self._records(body, stream, what)
        next_params = (
            stream.paginator.next_params(body, records, sent) if stream.paginator else None
        )
        return Page(body=body, records=records, next_params=next_params)

    async def pages(self, stream: Stream, params: QueryParams) -> AsyncIterator[Page]:
        """Every page of ``stream`` from ``params`` on; a page token seen twice stops the walk."""
        seen: set[str] = set()
        current: QueryParams = dict(params)
        paginator = stream.paginator
        if paginator is not None and (first := paginator.page_token(current)) is not None:
            seen.add(first)
        while True:
            page = await self.fetch_page(stream, current)
            yield page
            if page.next_params is None or paginator is None:
                return
            token = paginator.page_token(page.next_params)
            if token is None:
                raise PlatformContractError(
                    f"{self.facts.name} {stream.name}: a next page without a page token"
                )
            if token in seen:
                raise PaginationLoopError(
                    f"{self.facts.name} {stream.name}: page token repeated after "
                    f"{len(seen)} pages; stopping instead of looping"
                )
            seen.add(token)
            current = page.next_params

    def _raise_for_status(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        if status < 400:
            return
        code, message = platform_error(parse_json_object(response.content, response.encoding))
        detail = ": ".join(part for part in (code, message) if part) or response.reason_phrase
        if status == 401:
            raise ReauthorizationRequired(
                f"{what}: HTTP 401 ({detail}); the seller must authorize again", status_code=status
            )
        raise RequestRejected(f"{what}: HTTP {status} ({detail})", status_code=status)

    @staticmethod
    def _records(body: JsonObject, stream: Stream, what: str) -> list[JsonObject]:
        """Records at ``stream.records_path``; None means the body is the record.

        An absent or null last key means no records (Amazon's ``TransactionsPayload`` does not
        require ``transactions``); anything else that is not a list of objects breaks the
        platform's contract.
        """
        if stream.records_path is None:
            return [body]
        parent_path, _, key = stream.records_path.rpartition(".")
        parent = dig(body, parent_path) if parent_path else body
        if not isinstance(parent, dict):
            raise PlatformContractError(f"{what}: body has no object at {parent_path!r}")
        found = parent.get(key)
        if found is None:
            return []
        if not isinstance(found, list) or not all(isinstance(r, dict) for r in found):
            raise PlatformContractError(f"{what}: {stream.records_path!r} is not a list of objects")
        return found
