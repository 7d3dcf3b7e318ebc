"""The Amazon and Stripe declarations, checked against the official specs read in place."""

from __future__ import annotations

import re
from typing import Any

import pytest

from connectors.amazon import CONNECTOR as AMAZON_CONNECTOR
from connectors.environment import sandbox_facts
from connectors.http.paginators import NextTokenPaginator, StartingAfterPaginator
from connectors.model import Connector, Stream
from connectors.registry import UnknownPlatform, connector_names, get_connector
from connectors.stripe import CONNECTOR as STRIPE_CONNECTOR
from tests.connectors.conftest import reference_json

AMAZON_SPECS = {
    "orders": ("orders-api-model", "orders_2026-01-01.json"),
    "transactions": ("finances-api-model", "finances_2024-06-19.json"),
    "account": ("sellers-api-model", "sellers.json"),
}


def test_registry() -> None:
    assert connector_names() == ["amazon", "stripe"]
    assert get_connector("amazon") is AMAZON_CONNECTOR
    assert get_connector("stripe") is STRIPE_CONNECTOR
    with pytest.raises(KeyError) as caught:
        get_connector("ebay")
    assert isinstance(caught.value, UnknownPlatform)
    assert str(caught.value) == "unknown platform 'ebay' (known: amazon, stripe)"


@pytest.mark.parametrize("connector", [AMAZON_CONNECTOR, STRIPE_CONNECTOR], ids=str)
def test_every_stream_has_a_rate_limit_in_both_modes(connector: Connector) -> None:
    names = [s.name for s in connector.streams]
    assert len(names) == len(set(names))
    for stream in connector.streams:
        assert stream.bucket in connector.facts.rate_limits
        assert stream.bucket in connector.facts.sandbox_rate_limits
        assert stream.path.startswith("/")


def test_sandbox_facts_point_every_url_at_the_emulator() -> None:
    for connector in (AMAZON_CONNECTOR, STRIPE_CONNECTOR):
        facts = connector.facts
        local = sandbox_facts(facts, "http://127.0.0.1:41234/")
        urls = [*local.regions.values(), local.oauth.authorize_url, local.oauth.token_url]
        if local.oauth.revoke_url:
            urls.append(local.oauth.revoke_url)
        assert all(u.startswith("http://127.0.0.1:41234") for u in urls), urls
        assert local.rate_limits == facts.sandbox_rate_limits
        assert local.name == facts.name
    amazon = sandbox_facts(AMAZON_CONNECTOR.facts, "http://127.0.0.1:41234")
    assert amazon.oauth.authorize_url == "http://127.0.0.1:41234/apps/authorize/consent"
    assert amazon.oauth.token_url == "http://127.0.0.1:41234/auth/o2/token"
    assert amazon.base_url("eu") == "http://127.0.0.1:41234"
    stripe = sandbox_facts(STRIPE_CONNECTOR.facts, "http://127.0.0.1:5")
    assert stripe.oauth.revoke_url == "http://127.0.0.1:5/oauth/deauthorize"


def _amazon_operation(stream: Stream) -> tuple[dict[str, Any], dict[str, Any]]:
    folder, name = AMAZON_SPECS[stream.name]
    spec = reference_json("specs", "amazon-sp-api", "models", folder, name)
    return spec, spec["paths"][stream.path]["get"]


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _schema_at(spec: dict[str, Any], schema: dict[str, Any], path: str) -> dict[str, Any]:
    for key in path.split("."):
        schema = _resolve(spec, schema)["properties"][key]
    return _resolve(spec, schema)


@pytest.mark.parametrize("stream", AMAZON_CONNECTOR.streams, ids=lambda s: s.name)
def test_amazon_streams_match_the_official_models(stream: Stream) -> None:
    spec, op = _amazon_operation(stream)
    params = {p["name"] for p in op.get("parameters", [])}
    used = set(stream.params)
    if stream.cursor:
        used |= {stream.cursor.lower_param, stream.cursor.upper_param or ""} - {""}
    if stream.marketplace_param:
        used.add(stream.marketplace_param)
    if isinstance(stream.paginator, NextTokenPaginator):
        used.add(stream.paginator.param)
    assert used <= params, used - params

    # multi-valued parameters: Swagger 2.0 arrays are csv unless collectionFormat says otherwise
    for p in op.get("parameters", []):
        if p["name"] in used and p.get("type") == "array":
            assert p.get("collectionFormat", "csv") == "csv"
            assert AMAZON_CONNECTOR.facts.query_array_style == "csv"
    for name, value in stream.params.items():
        declared = next(p for p in op["parameters"] if p["name"] == name)
        if "enum" in declared.get("items", {}):
            assert set(str(value).split(",")) <= set(declared["items"]["enum"])

    response = op["responses"]["200"]["schema"]
    assert stream.records_path is not None
    assert _schema_at(spec, response, stream.records_path)["type"] == "array"
    if isinstance(stream.paginator, NextTokenPaginator):
        assert _schema_at(spec, response, stream.paginator.token_path)["type"] == "string"

    # the documented usage plan of the operation is the bucket's production limit
    plan = re.search(r"\|\s*([\d.]+)\s*\|\s*(\d+)\s*\|", op["description"])
    assert plan is not None
    limit = AMAZON_CONNECTOR.facts.rate_limits[stream.bucket]
    assert (limit.rate, limit.burst) == (float(plan.group(1)), int(plan.group(2)))
    assert op["operationId"] == stream.bucket


@pytest.mark.parametrize("stream", STRIPE_CONNECTOR.streams, ids=lambda s: s.name)
def test_stripe_streams_match_the_official_spec(stream: Stream) -> None:
    spec = reference_json("specs", "stripe", "spec3.2023-08-16.subset.json")
    op = spec["paths"][stream.path]["get"]
    params = {p["name"] for p in op.get("parameters", [])}
    for name in stream.params:
        assert name in params
    if isinstance(stream.paginator, StartingAfterPaginator):
        assert {"limit", "starting_after"} <= params
        assert stream.records_path == "data"
        assert int(stream.params["limit"]) <= 100
    if stream.cursor:
        created = next(p for p in op["parameters"] if p["name"] == "created")
        assert created.get("style") == "deepObject"
        for param in (stream.cursor.lower_param, stream.cursor.upper_param):
            assert param is not None
            bound = param.removeprefix("created[").removesuffix("]")
            schemas = created["schema"].get("anyOf", [created["schema"]])
            assert any(bound in s.get("properties", {}) for s in schemas), param
