"""Validate emulator responses against the official specs, read in place from shared/.

Amazon models are Swagger 2.0 (``#/definitions/...``); Stripe's is OpenAPI 3.0, whose
``nullable: true`` we turn into JSON Schema's ``null`` type before validating.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator, Draft7Validator, FormatChecker

REFERENCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference"
AMAZON_MODELS = ("specs", "amazon-sp-api", "models")
ORDERS = (*AMAZON_MODELS, "orders-api-model", "orders_2026-01-01.json")
FINANCES = (*AMAZON_MODELS, "finances-api-model", "finances_2024-06-19.json")
SELLERS = (*AMAZON_MODELS, "sellers-api-model", "sellers.json")
STRIPE = ("specs", "stripe", "spec3.2023-08-16.subset.json")

formats = FormatChecker()


def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value)
    return parsed.tzinfo is not None


formats.checks("date-time", raises=ValueError)(_date_time)


@cache
def _load(parts: tuple[str, ...]) -> dict[str, Any]:
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference material absent: {path}")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def amazon_validator(parts: tuple[str, ...], definition: str) -> Draft4Validator:
    spec = _load(parts)
    schema = {"$ref": f"#/definitions/{definition}", "definitions": spec["definitions"]}
    return Draft4Validator(schema, format_checker=formats)


def _nullable(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {k: _nullable(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@cache
def _stripe_components() -> dict[str, Any]:
    converted: dict[str, Any] = _nullable(_load(STRIPE)["components"])
    return converted


def stripe_validator(path: str, status: str = "200") -> Draft7Validator:
    """The schema of ``GET path``'s response (``default`` = the error object)."""
    responses = _load(STRIPE)["paths"][path]["get"]["responses"]
    schema = _nullable(responses[status]["content"]["application/json"]["schema"])
    return Draft7Validator({**schema, "components": _stripe_components()}, format_checker=formats)


def errors_of(validator: Draft4Validator | Draft7Validator, instance: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in validator.iter_errors(instance)
    ]
