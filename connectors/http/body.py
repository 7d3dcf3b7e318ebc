"""Reading platform response bodies: exact JSON, dotted paths, the platform's error message."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from connectors.http.redact import redact
from connectors.model import JsonObject

_MISSING = object()


def parse_json_object(text: str) -> JsonObject | None:
    """Decode a JSON object keeping numbers exact (Amazon finances sends money as JSON numbers).

    Returns None when ``text`` is not a JSON object.
    """
    try:
        value = json.loads(text, parse_float=Decimal)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def dig(body: Any, path: str, default: Any = None) -> Any:
    """The value at dotted ``path`` (``pagination.nextToken``) or ``default`` when absent."""
    value = body
    for key in path.split("."):
        if not isinstance(value, dict):
            return default
        value = value.get(key, _MISSING)
        if value is _MISSING:
            return default
    return value


def platform_error(body: JsonObject | None) -> tuple[str | None, str | None]:
    """(code, message) from an error body, redacted.

    Understands Amazon SP-API ``{"errors":[{"code","message"}]}``
    (https://developer-docs.amazon.com/sp-api/docs/response-format), Stripe
    ``{"error":{"code"|"type","message"}}`` (https://docs.stripe.com/api/errors) and OAuth 2.0
    ``{"error","error_description"}`` (RFC 6749 §5.2).
    """
    if not body:
        return None, None
    code: Any = None
    message: Any = None
    errors = body.get("errors")
    error = body.get("error")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code, message = errors[0].get("code"), errors[0].get("message")
    elif isinstance(error, dict):
        code = error.get("code") or error.get("type")
        message = error.get("message")
    elif isinstance(error, str):
        code, message = error, body.get("error_description")
    return (
        redact(str(code)) if code is not None else None,
        redact(str(message)) if message is not None else None,
    )
