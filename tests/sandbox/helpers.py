"""Our side of the emulators in tests: OAuth flows and paginated walks over real HTTP."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

AMAZON_CLIENT = "amzn1.application-oa2-client.0123456789abcdef"
AMAZON_SECRET = "amzn-test-secret-value"
AMAZON_APP = "amzn1.sp.solution.11111111-2222-3333-4444-555555555555"
STRIPE_CLIENT = "ca_TestPlatform0123456789"
STRIPE_SECRET = "sk_test_platform_secret_0123456789"
REDIRECT = "https://hub.example/oauth/callback"


def accounts(base: str) -> list[dict[str, Any]]:
    reply = httpx.get(f"{base}/_sandbox/accounts")
    reply.raise_for_status()
    result: list[dict[str, Any]] = reply.json()["accounts"]
    return result


def form_fields(page: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]*type=\"hidden\"[^>]*>", page):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        assert name and value
        fields[name.group(1)] = value.group(1).replace("&amp;", "&")
    return fields


def query_of(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def decide(client: httpx.Client, page_url: str, account: str, decision: str) -> httpx.Response:
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    fields = form_fields(page.text) | {"account": account, "decision": decision}
    action = re.search(r'<form[^>]*action="([^"]*)"', page.text)
    assert action
    return client.post(action.group(1), data=fields)


def amazon_consent_url(state: str = "st-1", redirect: str = REDIRECT, **extra: str) -> str:
    params = {"application_id": AMAZON_APP, "state": state, "redirect_uri": redirect, **extra}
    return "/apps/authorize/consent?" + httpx.QueryParams(params).__str__()


def amazon_code(client: httpx.Client, account: str, state: str = "st-1") -> str:
    query = query_of(decide(client, amazon_consent_url(state), account, "approve"))
    assert query["state"] == state and query["selling_partner_id"] == account
    return query["spapi_oauth_code"]


def amazon_token(client: httpx.Client, **form: str) -> httpx.Response:
    body = {"client_id": AMAZON_CLIENT, "client_secret": AMAZON_SECRET, **form}
    return client.post("/auth/o2/token", data=body)


def amazon_connect(client: httpx.Client, account: str) -> dict[str, Any]:
    code = amazon_code(client, account)
    reply = amazon_token(client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert reply.status_code == 200, reply.text
    tokens: dict[str, Any] = reply.json()
    return tokens


def stripe_consent_url(state: str = "st-2", redirect: str = REDIRECT) -> str:
    params = {
        "response_type": "code",
        "client_id": STRIPE_CLIENT,
        "scope": "read_only",
        "state": state,
        "redirect_uri": redirect,
    }
    return "/oauth/authorize?" + str(httpx.QueryParams(params))


def stripe_code(client: httpx.Client, account: str, state: str = "st-2") -> str:
    query = query_of(decide(client, stripe_consent_url(state), account, "approve"))
    assert query["state"] == state and query["scope"] == "read_only"
    return query["code"]


def stripe_token(client: httpx.Client, **form: str) -> httpx.Response:
    return client.post("/oauth/token", data={"client_secret": STRIPE_SECRET, **form})


def stripe_connect(client: httpx.Client, account: str) -> dict[str, Any]:
    reply = stripe_token(client, grant_type="authorization_code", code=stripe_code(client, account))
    assert reply.status_code == 200, reply.text
    tokens: dict[str, Any] = reply.json()
    return tokens


def get(client: httpx.Client, path: str, **kwargs: Any) -> httpx.Response:
    """GET, waiting out the emulator's documented rate limits (429) like a polite client."""
    for _ in range(50):
        reply = client.get(path, **kwargs)
        if reply.status_code != 429:
            return reply
        time.sleep(0.1)
    return reply


def decimal_json(reply: httpx.Response) -> Any:
    return json.loads(reply.text, parse_float=Decimal)


def amazon_walk(
    client: httpx.Client, path: str, params: dict[str, str], records: str, token_param: str
) -> Iterator[dict[str, Any]]:
    """Every record of a paginated Amazon listing (``records`` is 'orders' or 'payload')."""
    query = dict(params)
    while True:
        reply = get(client, path, params=query)
        assert reply.status_code == 200, reply.text
        body = decimal_json(reply)
        if records == "payload":
            page = body["payload"]
            yield from page["transactions"]
            token = page.get("nextToken")
        else:
            yield from body["orders"]
            token = body.get("pagination", {}).get("nextToken")
        if not token:
            return
        query = {**params, token_param: token}


def stripe_walk(client: httpx.Client, path: str, **params: str) -> Iterator[dict[str, Any]]:
    query = {"limit": "100", **params}
    while True:
        reply = get(client, path, params=query)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        yield from body["data"]
        if not body["has_more"]:
            return
        query = {**query, "starting_after": body["data"][-1]["id"]}
