"""The emulators' ``rotate_refresh_tokens`` world setting: each refresh token works once, and a
reused one answers ``invalid_grant`` and is counted in ``/_sandbox/stats``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.server import RunningSandbox, start_sandbox
from tests.sandbox.helpers import (
    accounts,
    amazon_connect,
    amazon_token,
    stripe_connect,
    stripe_token,
)

Connect = Callable[[httpx.Client, str], dict[str, Any]]
Refresh = Callable[..., httpx.Response]
PLATFORMS: dict[str, tuple[Connect, Refresh]] = {
    "amazon": (amazon_connect, amazon_token),
    "stripe": (stripe_connect, stripe_token),
}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with start_sandbox(["amazon", "stripe"], tmp_path_factory.mktemp("rotation")) as running:
        yield running


@pytest.fixture(params=sorted(PLATFORMS))
def platform(request: pytest.FixtureRequest, sandbox: RunningSandbox) -> Iterator[str]:
    name = str(request.param)
    yield name
    httpx.post(
        f"{sandbox.base_url(name)}/_sandbox/config", json={"rotate_refresh_tokens": False}
    ).raise_for_status()


@contextmanager
def _session(
    sandbox: RunningSandbox, platform: str
) -> Iterator[tuple[httpx.Client, dict[str, Any]]]:
    """A client of the emulator and a fresh grant of its first seller."""
    with httpx.Client(base_url=sandbox.base_url(platform), timeout=10) as client:
        connect, _ = PLATFORMS[platform]
        yield client, connect(client, accounts(sandbox.base_url(platform))[0]["id"])


def test_rotation_is_off_by_default(sandbox: RunningSandbox, platform: str) -> None:
    with _session(sandbox, platform) as (client, grant):
        assert client.get("/_sandbox/config").json()["rotate_refresh_tokens"] is False
        _, refresh = PLATFORMS[platform]
        for _ in range(2):  # the same refresh token, again and again
            reply = refresh(
                client, grant_type="refresh_token", refresh_token=grant["refresh_token"]
            )
            assert reply.status_code == 200, reply.text
            kept = reply.json()["refresh_token"] == grant["refresh_token"]
            assert kept, "without rotation the refresh token stays the same"


def test_a_rotated_refresh_token_works_once(sandbox: RunningSandbox, platform: str) -> None:
    _, refresh = PLATFORMS[platform]
    with _session(sandbox, platform) as (client, grant):
        before = client.get("/_sandbox/stats").json()
        set_to = client.post("/_sandbox/config", json={"rotate_refresh_tokens": True})
        assert set_to.status_code == 200 and set_to.json()["rotate_refresh_tokens"] is True

        first = refresh(client, grant_type="refresh_token", refresh_token=grant["refresh_token"])
        assert first.status_code == 200, first.text
        rotated = first.json()["refresh_token"]
        new = rotated != grant["refresh_token"]
        assert new, "the refresh answer carries a new refresh token"

        reused = refresh(client, grant_type="refresh_token", refresh_token=grant["refresh_token"])
        assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"

        second = refresh(client, grant_type="refresh_token", refresh_token=rotated)
        assert second.status_code == 200, second.text
        fresh = second.json()["refresh_token"] not in (rotated, grant["refresh_token"])
        assert fresh, "every refresh rotates"

        after = client.get("/_sandbox/stats").json()
        assert after["invalid_grant"] - before["invalid_grant"] == 1
        assert after["refresh_token_reused"] - before["refresh_token_reused"] == 1
        grants = (
            after["token_requests"]["refresh_token"] - before["token_requests"]["refresh_token"]
        )
        assert grants == 3


def test_revoking_the_seller_also_kills_the_rotated_tokens(
    sandbox: RunningSandbox, platform: str
) -> None:
    _, refresh = PLATFORMS[platform]
    with _session(sandbox, platform) as (client, grant):
        client.post("/_sandbox/config", json={"rotate_refresh_tokens": True}).raise_for_status()
        rotated = refresh(
            client, grant_type="refresh_token", refresh_token=grant["refresh_token"]
        ).json()["refresh_token"]
        account = accounts(sandbox.base_url(platform))[0]["id"]
        client.post("/_sandbox/faults", json={"kind": "revoke", "account": account})
        reply = refresh(client, grant_type="refresh_token", refresh_token=rotated)
        assert reply.status_code == 400 and reply.json()["error"] == "invalid_grant"
        assert "revoked" in reply.json()["error_description"]


def test_unknown_config_is_still_refused(sandbox: RunningSandbox) -> None:
    reply = httpx.post(
        f"{sandbox.base_url('amazon')}/_sandbox/config", json={"rotate_refresh_tokens": "often"}
    )
    assert reply.status_code == 422


def test_state_survives_a_restart(tmp_path: Path) -> None:
    """Rotation is recorded in the grants file: another emulator process refuses the old one."""
    with start_sandbox(["stripe"], tmp_path) as first, _session(first, "stripe") as session:
        client, grant = session
        client.post("/_sandbox/config", json={"rotate_refresh_tokens": True})
        first_refresh = stripe_token(
            client, grant_type="refresh_token", refresh_token=grant["refresh_token"]
        )
        assert first_refresh.status_code == 200
    with (
        start_sandbox(["stripe"], tmp_path) as second,
        httpx.Client(base_url=second.base_url("stripe")) as client,
    ):
        reply = stripe_token(
            client, grant_type="refresh_token", refresh_token=grant["refresh_token"]
        )
        assert reply.status_code == 400 and reply.json()["error"] == "invalid_grant"
