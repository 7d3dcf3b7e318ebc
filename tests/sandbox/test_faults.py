"""Injected faults: status codes with platform bodies, slow and cut responses, order of use."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox.server import RunningSandbox
from tests.sandbox.helpers import accounts, amazon_connect, stripe_connect

PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"


@pytest.fixture
def pair(shared_sandbox: RunningSandbox) -> Iterator[RunningSandbox]:
    yield shared_sandbox
    for platform in shared_sandbox.platforms:  # leave no fault queued for the next test
        httpx.delete(f"{shared_sandbox.base_url(platform)}/_sandbox/faults").raise_for_status()


@pytest.fixture
def amazon_api(pair: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=pair.base_url("amazon"), timeout=5) as client:
        token = amazon_connect(client, accounts(pair.base_url("amazon"))[0]["id"])["access_token"]
        client.headers["x-amz-access-token"] = token
        yield client


@pytest.fixture
def stripe_api(pair: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=pair.base_url("stripe"), timeout=5) as client:
        token = stripe_connect(client, accounts(pair.base_url("stripe"))[0]["id"])["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def test_status_faults_are_served_in_order_then_stop(amazon_api: httpx.Client) -> None:
    faults = [
        {"kind": "status", "status": 503, "count": 1, "path_prefix": "/sellers", "retry_after": 1},
        {"kind": "status", "status": 500, "count": 2, "path_prefix": "/sellers"},
    ]
    served = amazon_api.get("/_sandbox/stats").json()["faults_served"]
    for fault in faults:
        assert amazon_api.post("/_sandbox/faults", json=fault).status_code == 200
    first = amazon_api.get(PARTICIPATIONS)
    assert first.status_code == 503 and first.headers["retry-after"] == "1"
    assert first.json()["errors"][0]["code"] == "ServiceUnavailable"
    assert [amazon_api.get(PARTICIPATIONS).status_code for _ in range(3)] == [500, 500, 200]
    assert amazon_api.get("/_sandbox/stats").json()["faults_served"] == served + 3


def test_path_prefix_limits_where_a_fault_hits(stripe_api: httpx.Client) -> None:
    stripe_api.post(
        "/_sandbox/faults", json={"kind": "status", "status": 429, "path_prefix": "/v1/charges"}
    )
    assert stripe_api.get("/v1/payouts").status_code == 200
    limited = stripe_api.get("/v1/charges")
    assert limited.status_code == 429
    assert limited.json()["error"]["type"] == "invalid_request_error"
    assert limited.json()["error"]["code"] == "rate_limit"
    assert stripe_api.get("/v1/charges").status_code == 200


def test_delete_clears_queued_faults(stripe_api: httpx.Client) -> None:
    stripe_api.post("/_sandbox/faults", json={"kind": "status", "status": 502, "count": 5})
    assert len(stripe_api.get("/_sandbox/faults").json()["queued"]) == 1
    stripe_api.delete("/_sandbox/faults")
    assert stripe_api.get("/v1/account").status_code == 200


def test_slow_fault_trips_the_client_read_timeout(stripe_api: httpx.Client) -> None:
    stripe_api.post(
        "/_sandbox/faults", json={"kind": "slow", "delay": 1.5, "path_prefix": "/v1/disputes"}
    )
    with pytest.raises(httpx.ReadTimeout):
        stripe_api.get("/v1/disputes", timeout=0.2)
    assert stripe_api.get("/v1/disputes").status_code == 200


def test_slow_fault_still_answers_a_patient_client(amazon_api: httpx.Client) -> None:
    amazon_api.post(
        "/_sandbox/faults", json={"kind": "slow", "delay": 0.3, "path_prefix": "/sellers"}
    )
    assert amazon_api.get(PARTICIPATIONS, timeout=5).status_code == 200


def test_cut_fault_drops_the_connection_mid_body(
    amazon_api: httpx.Client, stripe_api: httpx.Client
) -> None:
    for client, path in ((amazon_api, PARTICIPATIONS), (stripe_api, "/v1/charges")):
        client.post("/_sandbox/faults", json={"kind": "cut", "count": 1, "path_prefix": path})
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(path)
        assert client.get(path).status_code == 200


def test_faults_can_hit_the_token_endpoint(amazon_api: httpx.Client) -> None:
    amazon_api.post(
        "/_sandbox/faults", json={"kind": "status", "status": 500, "path_prefix": "/auth/o2/token"}
    )
    reply = amazon_api.post("/auth/o2/token", data={"grant_type": "refresh_token"})
    assert reply.status_code == 500


def test_bad_fault_requests_are_rejected(amazon_api: httpx.Client) -> None:
    assert amazon_api.post("/_sandbox/faults", json={"kind": "explode"}).status_code == 422
    assert amazon_api.post("/_sandbox/faults", json={"kind": "status"}).status_code == 400
    assert (
        amazon_api.post(
            "/_sandbox/faults", json={"kind": "revoke", "account": "nobody"}
        ).status_code
        == 404
    )
