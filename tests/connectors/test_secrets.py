"""Tokens and client secrets never show in reprs, exception messages or logs."""

from __future__ import annotations

import logging

import httpx
import pytest
import respx

from connectors.amazon import FACTS as AMAZON
from connectors.amazon.streams import ACCOUNT
from connectors.errors import ConnectorError, ReauthorizationRequired
from connectors.http.auth import MemoryTokenStore, PlatformAuth, TokenManager
from connectors.http.redact import redact
from tests.connectors.conftest import (
    AMAZON_API,
    AMAZON_SECRET,
    STRIPE_SECRET,
    ClientFactory,
    Clock,
    amazon_flow,
    amazon_token,
    stripe_flow,
    stripe_token,
)

NEW_ACCESS = "Atza|second-generation-access"
SECRETS = (
    AMAZON_SECRET,
    STRIPE_SECRET,
    "Atza|current-access-0001",
    "Atzr|long-lived-refresh-0001",
    NEW_ACCESS,
    "sk_test_connectedaccess0001",
    "rt_connectedrefresh0001",
)


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def test_redact_masks_known_secrets_and_token_shapes() -> None:
    text = "token Atza|abc.def and key sk_live_51Habc and Bearer xyz and rt_abcdefghij and s3cr3t!"
    out = redact(text, "s3cr3t!")
    assert leaks(out) == []
    for fragment in ("Atza|abc", "sk_live_51Habc", "xyz", "rt_abcdefghij", "s3cr3t!"):
        assert fragment not in out
    assert len(redact("x" * 5000)) <= 300


@respx.mock
async def test_no_secret_in_reprs_errors_or_logs(
    make_client: ClientFactory, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    unauthorized = {
        "errors": [
            {
                "code": "Unauthorized",
                "message": "Access denied for token Atza|current-access-0001",
            }
        ]
    }
    respx.post(AMAZON.oauth.token_url).mock(
        return_value=httpx.Response(
            200, json={"access_token": NEW_ACCESS, "token_type": "bearer", "expires_in": 3600}
        )
    )
    respx.get(f"{AMAZON_API}/sellers/v1/marketplaceParticipations").mock(
        return_value=httpx.Response(403, json=unauthorized)
    )
    store = MemoryTokenStore(amazon_token(clock))
    flow = amazon_flow(clock)
    tokens = TokenManager(flow, store, clock=clock)
    auth = PlatformAuth(AMAZON, tokens)
    client = make_client(AMAZON, tokens=tokens)
    with pytest.raises(ReauthorizationRequired) as caught:
        await client.fetch_page(ACCOUNT, {})

    shown = [repr(obj) for obj in (flow, tokens, auth, client, store, client.budget)]
    shown += [str(caught.value), repr(caught.value)]
    shown += [record.getMessage() for record in caplog.records]
    assert caplog.records  # the refresh was logged, without its token
    for text in shown:
        assert leaks(text) == [], text


@respx.mock
async def test_refusal_messages_do_not_echo_tokens(clock: Clock) -> None:
    respx.post(stripe_flow().facts.oauth.token_url).mock(
        return_value=httpx.Response(
            400,
            json={
                "error": "invalid_grant",
                "error_description": "Refresh token rt_connectedrefresh0001 does not exist",
            },
        )
    )
    with pytest.raises(ConnectorError) as caught:
        await stripe_flow(clock).refresh(stripe_token())
    assert "invalid_grant" in str(caught.value)
    assert leaks(str(caught.value)) == []
