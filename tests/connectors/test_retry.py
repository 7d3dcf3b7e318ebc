"""Retry policy: Retry-After (seconds, HTTP date, capped), backoff, transport errors, exhaustion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from connectors.amazon import FACTS as AMAZON
from connectors.amazon.streams import ACCOUNT
from connectors.errors import RequestRejected, RetryableError
from connectors.http.retry import RetryPolicy, parse_retry_after
from tests.connectors.conftest import AMAZON_API, ClientFactory, SleepRecorder

URL = f"{AMAZON_API}/sellers/v1/marketplaceParticipations"
OK = httpx.Response(200, json={"payload": [{"marketplace": {"id": "ATVPDKIKX0DER"}}]})
NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("7", NOW) == 7.0
    later = format_datetime(NOW + timedelta(seconds=42), usegmt=True)
    assert parse_retry_after(later, NOW) == pytest.approx(42.0)
    past = format_datetime(NOW - timedelta(minutes=5), usegmt=True)
    assert parse_retry_after(past, NOW) == 0.0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_backoff_grows_exponentially_up_to_the_ceiling_with_bounded_jitter() -> None:
    steady = RetryPolicy(base_delay=0.5, max_delay=3.0, rand=lambda: 0.0)
    assert [steady.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    jittered = RetryPolicy(base_delay=0.5, max_delay=3.0, jitter=0.5, rand=lambda: 1.0)
    assert [jittered.backoff(n) for n in range(1, 4)] == [0.25, 0.5, 1.0]


@respx.mock
async def test_429_waits_the_retry_after_seconds(
    make_client: ClientFactory, sleeps: SleepRecorder
) -> None:
    route = respx.get(URL)
    route.side_effect = [httpx.Response(429, headers={"Retry-After": "3"}), OK]
    page = await make_client(AMAZON).fetch_page(ACCOUNT, {})
    assert page.records[0]["marketplace"]["id"] == "ATVPDKIKX0DER"
    assert route.call_count == 2
    assert sleeps.waits == [3.0]


@respx.mock
async def test_503_with_an_http_date_waits_until_that_date(make_client: ClientFactory) -> None:
    sleeps = SleepRecorder()
    policy = RetryPolicy(sleep=sleeps, clock=lambda: NOW)
    when = format_datetime(NOW + timedelta(seconds=20), usegmt=True)
    respx.get(URL).side_effect = [httpx.Response(503, headers={"Retry-After": when}), OK]
    await make_client(AMAZON, policy=policy).fetch_page(ACCOUNT, {})
    assert sleeps.waits == [pytest.approx(20.0)]


@respx.mock
async def test_retry_after_is_capped(make_client: ClientFactory) -> None:
    sleeps = SleepRecorder()
    policy = RetryPolicy(sleep=sleeps, max_retry_after=10.0)
    respx.get(URL).side_effect = [httpx.Response(429, headers={"Retry-After": "86400"}), OK]
    await make_client(AMAZON, policy=policy).fetch_page(ACCOUNT, {})
    assert sleeps.waits == [10.0]


@respx.mock
@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_back_off_exponentially(
    make_client: ClientFactory, sleeps: SleepRecorder, status: int
) -> None:
    route = respx.get(URL)
    route.side_effect = [httpx.Response(status), httpx.Response(status), OK]
    await make_client(AMAZON).fetch_page(ACCOUNT, {})
    assert route.call_count == 3
    assert sleeps.waits == [1.0, 2.0]  # base 1 s, doubling, no jitter in this fixture


@respx.mock
@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadError("connection reset by peer"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message"),
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
    ],
)
async def test_transport_errors_are_retried(
    make_client: ClientFactory, sleeps: SleepRecorder, error: Exception
) -> None:
    route = respx.get(URL)
    route.side_effect = [error, OK]
    page = await make_client(AMAZON).fetch_page(ACCOUNT, {})
    assert len(page.records) == 1
    assert route.call_count == 2
    assert len(sleeps.waits) == 1


@respx.mock
async def test_exhaustion_says_status_and_attempts(
    make_client: ClientFactory, sleeps: SleepRecorder
) -> None:
    route = respx.get(URL).mock(return_value=httpx.Response(503))
    with pytest.raises(RetryableError) as caught:
        await make_client(AMAZON).fetch_page(ACCOUNT, {})
    assert route.call_count == 5
    assert len(sleeps.waits) == 4
    assert caught.value.status_code == 503
    assert "5 attempts" in str(caught.value)
    assert "503" in str(caught.value)


@respx.mock
async def test_exhaustion_after_transport_errors_names_it(make_client: ClientFactory) -> None:
    policy = RetryPolicy(max_attempts=2, sleep=SleepRecorder())
    respx.get(URL).mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(RetryableError) as caught:
        await make_client(AMAZON, policy=policy).fetch_page(ACCOUNT, {})
    assert caught.value.status_code is None
    assert "2 attempts" in str(caught.value)
    assert "ReadTimeout" in str(caught.value)


@respx.mock
async def test_client_errors_are_not_retried(
    make_client: ClientFactory, sleeps: SleepRecorder
) -> None:
    body = {"errors": [{"code": "InvalidInput", "message": "Invalid Input"}]}
    route = respx.get(URL).mock(return_value=httpx.Response(400, json=body))
    with pytest.raises(RequestRejected):
        await make_client(AMAZON).fetch_page(ACCOUNT, {})
    assert route.call_count == 1
    assert sleeps.waits == []
