"""Rate budgets: one per account, shared; learn the rate from headers; drain on 429."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import respx

from connectors.amazon import FACTS as AMAZON
from connectors.amazon.streams import ACCOUNT
from connectors.http.ratelimit import BUDGETS, RateBudget, RateBudgetRegistry, budget_for
from connectors.model import RateLimit
from connectors.stripe import FACTS as STRIPE
from tests.connectors.conftest import AMAZON_API, ClientFactory

FAST = {"getMarketplaceParticipations": RateLimit(rate=50, burst=3)}


def test_one_budget_per_platform_account() -> None:
    registry = RateBudgetRegistry()
    first = registry.budget(AMAZON, "A1SELLER")
    assert registry.budget(AMAZON, "A1SELLER") is first
    assert registry.budget(AMAZON, "A2OTHER") is not first
    assert registry.budget(STRIPE, "A1SELLER") is not first
    registry.forget("amazon", "A1SELLER")
    assert registry.budget(AMAZON, "A1SELLER") is not first


async def test_documented_limits_per_bucket() -> None:
    budget = RateBudgetRegistry().budget(AMAZON, "A1SELLER")
    assert budget.rate("searchOrders") == AMAZON.rate_limits["searchOrders"].rate
    # a fresh bucket admits exactly its burst without waiting
    assert budget.available("searchOrders") == AMAZON.rate_limits["searchOrders"].burst
    assert budget.available("listTransactions") == AMAZON.rate_limits["listTransactions"].burst


async def test_clients_of_one_account_draw_from_the_same_bucket() -> None:
    registry = RateBudgetRegistry()
    facts = dataclasses.replace(AMAZON, rate_limits={"searchOrders": RateLimit(0.001, 3)})
    one = registry.budget(facts, "A1SELLER")
    two = registry.budget(facts, "A1SELLER")
    other = registry.budget(facts, "A9OTHER")
    async with one.slot("searchOrders"):
        pass
    async with two.slot("searchOrders"):
        pass
    assert one.available("searchOrders") == 1
    assert other.available("searchOrders") == 3


async def test_slot_waits_when_the_burst_is_spent() -> None:
    budget = RateBudget("amazon", "A1", {"b": RateLimit(rate=0.001, burst=2)})
    for _ in range(2):
        async with budget.slot("b"):
            pass
    blocked = asyncio.create_task(budget.slot("b").__aenter__())
    await asyncio.sleep(0.01)
    assert not blocked.done()  # the third request waits for a refill (1000 s away)
    blocked.cancel()


async def test_drain_empties_the_bucket() -> None:
    budget = RateBudget("amazon", "A1", {"b": RateLimit(rate=0.001, burst=10)})
    assert budget.available("b") == 10
    await budget.drain("b")
    assert budget.available("b") == 0


async def test_new_rate_keeps_what_was_spent() -> None:
    budget = RateBudget("amazon", "A1", {"b": RateLimit(rate=0.001, burst=10)})
    for _ in range(4):
        async with budget.slot("b"):
            pass
    await budget.set_rate("b", 0.002)
    assert budget.rate("b") == 0.002
    assert budget.available("b") == 6


@respx.mock
async def test_amazon_rate_header_updates_the_bucket(make_client: ClientFactory) -> None:
    budget = RateBudget("amazon", "A1", FAST, rate_header=AMAZON.rate_limit_header)
    respx.get(f"{AMAZON_API}/sellers/v1/marketplaceParticipations").mock(
        return_value=httpx.Response(
            200, json={"payload": []}, headers={"x-amzn-RateLimit-Limit": "12.5"}
        )
    )
    await make_client(AMAZON, budget=budget).fetch_page(ACCOUNT, {})
    assert budget.rate("getMarketplaceParticipations") == 12.5


@respx.mock
async def test_unusable_rate_header_is_ignored(make_client: ClientFactory) -> None:
    budget = RateBudget("amazon", "A1", FAST, rate_header=AMAZON.rate_limit_header)
    respx.get(f"{AMAZON_API}/sellers/v1/marketplaceParticipations").mock(
        return_value=httpx.Response(
            200, json={"payload": []}, headers={"x-amzn-RateLimit-Limit": "n/a"}
        )
    )
    await make_client(AMAZON, budget=budget).fetch_page(ACCOUNT, {})
    assert budget.rate("getMarketplaceParticipations") == 50


@respx.mock
async def test_429_drains_the_shared_bucket(make_client: ClientFactory) -> None:
    budget = RateBudget("amazon", "A1", FAST, rate_header=AMAZON.rate_limit_header)
    quota = {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota."}]}
    respx.get(f"{AMAZON_API}/sellers/v1/marketplaceParticipations").side_effect = [
        httpx.Response(429, json=quota),
        httpx.Response(200, json={"payload": []}),
    ]
    seen: list[int] = []
    original = budget.drain

    async def spy(bucket: str) -> None:
        await original(bucket)
        seen.append(budget.available(bucket))

    budget.drain = spy  # type: ignore[method-assign]
    await make_client(AMAZON, budget=budget).fetch_page(ACCOUNT, {})
    assert seen == [0]  # right after the 429 nothing was left for any client of the account


def test_process_wide_budget_is_shared() -> None:
    try:
        assert budget_for(AMAZON, "A7PROCESS") is budget_for(AMAZON, "A7PROCESS")
        assert budget_for(AMAZON, "A7PROCESS") is not budget_for(AMAZON, "A8PROCESS")
    finally:
        BUDGETS.forget("amazon", "A7PROCESS")
        BUDGETS.forget("amazon", "A8PROCESS")
