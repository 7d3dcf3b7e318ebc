"""PlatformClient: exact JSON, records paths, contract errors, rejections, query encoding."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import httpx
import pytest
import respx

from connectors.amazon import FACTS as AMAZON
from connectors.amazon.streams import ORDERS, TRANSACTIONS
from connectors.errors import (
    Fault,
    PlatformContractError,
    ReauthorizationRequired,
    RequestRejected,
)
from connectors.http.client import encode_query
from connectors.stripe import FACTS as STRIPE
from connectors.stripe.streams import CHARGES
from tests.connectors.conftest import AMAZON_API, STRIPE_API, ClientFactory, reference_json

ORDERS_URL = f"{AMAZON_API}/orders/2026-01-01/orders"
TRANSACTIONS_URL = f"{AMAZON_API}/finances/2024-06-19/transactions"


def test_query_lists_are_repeated_or_comma_joined() -> None:
    params: dict[str, str | list[str]] = {"ids": ["a", "b"], "x": "1"}
    assert str(encode_query(params, "repeat")) == "ids=a&ids=b&x=1"
    assert str(encode_query(params, "csv")) == "ids=a%2Cb&x=1"


@respx.mock
async def test_amazon_marketplaces_are_comma_separated(make_client: ClientFactory) -> None:
    route = respx.get(ORDERS_URL).mock(return_value=httpx.Response(200, json={"orders": []}))
    params: dict[str, str | list[str]] = {
        "lastUpdatedAfter": "2026-01-01T00:00:00Z",
        "marketplaceIds": ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"],
        "maxResultsPerPage": "50",  # the caller overrides the stream's default
    }
    await make_client(AMAZON).fetch_page(ORDERS, params)
    sent = route.calls.last.request.url.params
    assert sent.get_list("marketplaceIds") == ["ATVPDKIKX0DER,A2EUQ1WTGCTBG2"]
    assert sent["maxResultsPerPage"] == "50"
    assert sent["includedData"] == "BUYER,RECIPIENT,PROCEEDS,FULFILLMENT"


@respx.mock
async def test_money_numbers_stay_exact_decimals(make_client: ClientFactory) -> None:
    text = (
        '{"payload": {"transactions": [{"transactionId": "t1", '
        '"totalAmount": {"currencyAmount": 0.1, "currencyCode": "USD"}}]}}'
    )
    respx.get(TRANSACTIONS_URL).mock(return_value=httpx.Response(200, text=text))
    page = await make_client(AMAZON).fetch_page(TRANSACTIONS, {})
    amount = page.records[0]["totalAmount"]["currencyAmount"]
    assert isinstance(amount, Decimal)
    assert amount == Decimal("0.1")
    assert page.next_params is None


@respx.mock
async def test_official_sandbox_example_of_list_transactions(make_client: ClientFactory) -> None:
    spec = reference_json(
        "specs", "amazon-sp-api", "models", "finances-api-model", "finances_2024-06-19.json"
    )
    op = spec["paths"]["/finances/2024-06-19/transactions"]["get"]
    example = op["responses"]["200"]["x-amzn-api-sandbox"]["static"][0]["response"]
    respx.get(TRANSACTIONS_URL).mock(return_value=httpx.Response(200, json=example))
    page = await make_client(AMAZON).fetch_page(TRANSACTIONS, {"postedAfter": "2023-03-07"})
    assert page.records == example["payload"]["transactions"]
    assert page.next_params == {
        "postedAfter": "2023-03-07",
        "nextToken": example["payload"]["nextToken"],
    }


@respx.mock
async def test_official_sandbox_examples_of_search_orders(make_client: ClientFactory) -> None:
    spec = reference_json(
        "specs", "amazon-sp-api", "models", "orders-api-model", "orders_2026-01-01.json"
    )
    op = spec["paths"]["/orders/2026-01-01/orders"]["get"]
    for case in op["responses"]["200"]["x-amzn-api-sandbox"]["static"]:
        example = case["response"]
        respx.get(ORDERS_URL).mock(return_value=httpx.Response(200, json=example))
        page = await make_client(AMAZON).fetch_page(ORDERS, {})
        assert [o["orderId"] for o in page.records] == [o["orderId"] for o in example["orders"]]
        token = example.get("pagination", {}).get("nextToken")
        assert (page.next_params or {}).get("paginationToken") == token


@respx.mock
@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>gateway</html>"),
        httpx.Response(200, text=""),
        httpx.Response(200, json=[{"id": "ch_1"}]),
        httpx.Response(200, json={"object": "list", "data": {"id": "ch_1"}, "has_more": False}),
        httpx.Response(200, json={"object": "list", "data": ["ch_1"], "has_more": False}),
    ],
)
async def test_bodies_outside_the_contract(
    make_client: ClientFactory, response: httpx.Response
) -> None:
    respx.get(f"{STRIPE_API}/v1/charges").mock(return_value=response)
    with pytest.raises(PlatformContractError) as caught:
        await make_client(STRIPE).fetch_page(CHARGES, {})
    assert caught.value.fault is Fault.PLATFORM


@respx.mock
async def test_an_absent_optional_record_list_is_an_empty_page(make_client: ClientFactory) -> None:
    respx.get(TRANSACTIONS_URL).mock(return_value=httpx.Response(200, json={"payload": {}}))
    page = await make_client(AMAZON).fetch_page(TRANSACTIONS, {})
    assert page.records == []


@respx.mock
async def test_a_missing_envelope_breaks_the_contract(make_client: ClientFactory) -> None:
    respx.get(TRANSACTIONS_URL).mock(return_value=httpx.Response(200, json={"errors": []}))
    with pytest.raises(PlatformContractError):
        await make_client(AMAZON).fetch_page(TRANSACTIONS, {})


@respx.mock
async def test_rejection_carries_the_platform_message(make_client: ClientFactory) -> None:
    body = reference_json("recorded", "stripe", "unit_test_responses", "400.json")
    respx.get(f"{STRIPE_API}/v1/charges").mock(return_value=httpx.Response(400, json=body))
    with pytest.raises(RequestRejected) as caught:
        await make_client(STRIPE).fetch_page(CHARGES, {})
    assert caught.value.status_code == 400
    assert caught.value.fault is Fault.OURS
    assert body["error"]["message"][:40] in str(caught.value)


@respx.mock
async def test_amazon_rejection_message(make_client: ClientFactory) -> None:
    body = {"errors": [{"code": "InvalidInput", "message": "Invalid Input"}]}
    respx.get(ORDERS_URL).mock(return_value=httpx.Response(400, json=body))
    with pytest.raises(RequestRejected, match="InvalidInput: Invalid Input"):
        await make_client(AMAZON).fetch_page(ORDERS, {})


@respx.mock
async def test_401_without_auth_handling_needs_the_seller(make_client: ClientFactory) -> None:
    respx.get(f"{STRIPE_API}/v1/charges").mock(
        return_value=httpx.Response(401, json={"error": {"message": "Invalid API Key"}})
    )
    with pytest.raises(ReauthorizationRequired):
        await make_client(STRIPE).fetch_page(CHARGES, {})


@respx.mock
async def test_custom_headers_and_base_url(make_client: ClientFactory) -> None:
    facts = dataclasses.replace(STRIPE, regions={"global": "http://127.0.0.1:9/"})
    route = respx.get("http://127.0.0.1:9/v1/charges").mock(
        return_value=httpx.Response(200, json={"object": "list", "data": [], "has_more": False})
    )
    page = await make_client(facts).fetch_page(CHARGES, {})
    assert page.records == []
    assert route.calls.last.request.headers["Accept"] == "application/json"
