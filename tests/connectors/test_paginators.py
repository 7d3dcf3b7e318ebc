"""Paginators alone, then walked by the client over respx-mocked pages."""

from __future__ import annotations

import httpx
import pytest
import respx

from connectors.amazon import FACTS as AMAZON
from connectors.amazon.streams import ORDERS, TRANSACTIONS
from connectors.errors import PaginationLoopError, PlatformContractError
from connectors.http.paginators import NextTokenPaginator, StartingAfterPaginator
from connectors.stripe import FACTS as STRIPE
from connectors.stripe.streams import CHARGES
from tests.connectors.conftest import AMAZON_API, STRIPE_API, ClientFactory


def test_next_token_keeps_the_other_params_and_adds_the_token() -> None:
    pager = NextTokenPaginator(token_path="pagination.nextToken", param="paginationToken")
    sent = {"lastUpdatedAfter": "2026-01-01T00:00:00Z", "marketplaceIds": ["ATVPDKIKX0DER"]}
    nxt = pager.next_params({"orders": [], "pagination": {"nextToken": "T2"}}, [], sent)
    assert nxt == {**sent, "paginationToken": "T2"}
    assert pager.page_token(nxt) == "T2"
    assert pager.page_token(sent) is None


@pytest.mark.parametrize("body", [{"orders": []}, {"orders": [], "pagination": {}}])
def test_next_token_absent_means_last_page(body: dict[str, object]) -> None:
    pager = NextTokenPaginator(token_path="pagination.nextToken", param="paginationToken")
    assert pager.next_params(body, [], {}) is None


def test_next_token_that_is_not_a_string_breaks_the_contract() -> None:
    pager = NextTokenPaginator(token_path="payload.nextToken", param="nextToken")
    with pytest.raises(PlatformContractError):
        pager.next_params({"payload": {"nextToken": 7}}, [], {})


def test_starting_after_uses_the_last_records_id() -> None:
    pager = StartingAfterPaginator()
    records = [{"id": "ch_3"}, {"id": "ch_2"}]
    nxt = pager.next_params({"has_more": True, "data": records}, records, {"limit": "100"})
    assert nxt == {"limit": "100", "starting_after": "ch_2"}
    assert pager.next_params({"has_more": False, "data": records}, records, {}) is None


@pytest.mark.parametrize(
    ("body", "records"),
    [({"data": []}, []), ({"has_more": True, "data": []}, []), ({"has_more": True}, [{}])],
)
def test_starting_after_rejects_bodies_it_cannot_follow(
    body: dict[str, object], records: list[dict[str, object]]
) -> None:
    with pytest.raises(PlatformContractError):
        StartingAfterPaginator().next_params(body, records, {})


@respx.mock
async def test_amazon_orders_walk_until_pagination_disappears(make_client: ClientFactory) -> None:
    route = respx.get(f"{AMAZON_API}/orders/2026-01-01/orders")
    route.side_effect = [
        httpx.Response(200, json={"orders": [{"orderId": "1"}], "pagination": {"nextToken": "A"}}),
        httpx.Response(200, json={"orders": [{"orderId": "2"}], "pagination": {"nextToken": "B"}}),
        httpx.Response(200, json={"orders": [{"orderId": "3"}]}),
    ]
    client = make_client(AMAZON)
    params = {"lastUpdatedAfter": "2026-01-01T00:00:00Z", "marketplaceIds": ["ATVPDKIKX0DER"]}
    ids = [r["orderId"] async for page in client.pages(ORDERS, params) for r in page.records]
    assert ids == ["1", "2", "3"]
    sent = [call.request.url.params for call in route.calls]
    assert [p.get("paginationToken") for p in sent] == [None, "A", "B"]
    # the other parameters go back unchanged with every token
    assert {p["lastUpdatedAfter"] for p in sent} == {"2026-01-01T00:00:00Z"}
    assert {p["includedData"] for p in sent} == {"BUYER,RECIPIENT,PROCEEDS,FULFILLMENT"}


@respx.mock
async def test_amazon_transactions_continue_past_an_empty_page(make_client: ClientFactory) -> None:
    route = respx.get(f"{AMAZON_API}/finances/2024-06-19/transactions")
    route.side_effect = [
        httpx.Response(200, json={"payload": {"transactions": [], "nextToken": "N1"}}),
        httpx.Response(200, json={"payload": {"transactions": [{"transactionId": "t1"}]}}),
    ]
    client = make_client(AMAZON)
    pages = [p async for p in client.pages(TRANSACTIONS, {"postedAfter": "2026-01-01T00:00:00Z"})]
    assert [len(p.records) for p in pages] == [0, 1]
    assert route.calls[1].request.url.params["nextToken"] == "N1"


@respx.mock
async def test_repeated_next_token_stops_the_walk(make_client: ClientFactory) -> None:
    respx.get(f"{AMAZON_API}/orders/2026-01-01/orders").side_effect = [
        httpx.Response(200, json={"orders": [{"orderId": "1"}], "pagination": {"nextToken": "A"}}),
        httpx.Response(200, json={"orders": [{"orderId": "2"}], "pagination": {"nextToken": "B"}}),
        httpx.Response(200, json={"orders": [{"orderId": "3"}], "pagination": {"nextToken": "A"}}),
        httpx.Response(200, json={"orders": [{"orderId": "4"}]}),
    ]
    client = make_client(AMAZON)
    seen: list[str] = []
    with pytest.raises(PaginationLoopError):
        async for page in client.pages(ORDERS, {"lastUpdatedAfter": "2026-01-01T00:00:00Z"}):
            seen.extend(r["orderId"] for r in page.records)
    assert seen == ["1", "2", "3"]


@respx.mock
async def test_stripe_walk_follows_has_more(make_client: ClientFactory) -> None:
    route = respx.get(f"{STRIPE_API}/v1/charges")
    route.side_effect = [
        httpx.Response(
            200, json={"object": "list", "data": [{"id": "ch_3"}, {"id": "ch_2"}], "has_more": True}
        ),
        httpx.Response(200, json={"object": "list", "data": [{"id": "ch_1"}], "has_more": False}),
    ]
    client = make_client(STRIPE)
    walk = client.pages(CHARGES, {"created[gte]": "1700000000"})
    ids = [r["id"] async for page in walk for r in page.records]
    assert ids == ["ch_3", "ch_2", "ch_1"]
    second = route.calls[1].request.url.params
    assert second["starting_after"] == "ch_2"
    assert second["created[gte]"] == "1700000000"
    assert second["limit"] == "100"


@respx.mock
async def test_stripe_repeating_the_same_last_id_is_a_loop(make_client: ClientFactory) -> None:
    same = {"object": "list", "data": [{"id": "ch_9"}], "has_more": True}
    route = respx.get(f"{STRIPE_API}/v1/charges").mock(return_value=httpx.Response(200, json=same))
    client = make_client(STRIPE)
    with pytest.raises(PaginationLoopError):
        async for _ in client.pages(CHARGES, {}):
            pass
    assert route.call_count == 2  # the second page repeated the cursor: stop there


@respx.mock
async def test_resumed_walk_treats_its_starting_token_as_seen(make_client: ClientFactory) -> None:
    respx.get(f"{AMAZON_API}/orders/2026-01-01/orders").mock(
        return_value=httpx.Response(200, json={"orders": [], "pagination": {"nextToken": "R"}})
    )
    client = make_client(AMAZON)
    with pytest.raises(PaginationLoopError):
        async for _ in client.pages(ORDERS, {"paginationToken": "R"}):
            pass
