"""JSON with exact decimal numbers.

Amazon Finances sends amounts as JSON numbers (``BigDecimal``), e.g. ``12.34``; the standard
``json`` module can only write floats, which would turn ``0.1 + 0.2`` into ``0.30000000000000004``.
We swap each ``Decimal`` for a marker string, dump, then put the exact digits back unquoted.
"""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal
from typing import Any

from starlette.responses import JSONResponse

_TAG = uuid.uuid4().hex
_MARKER = re.compile(rf'"{_TAG}:(-?[0-9]+(?:\.[0-9]+)?)"')


def _mark(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("money must be finite")
        return f"{_TAG}:{format(value, 'f')}"
    if isinstance(value, dict):
        return {key: _mark(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mark(item) for item in value]
    return value


def dumps(value: Any) -> str:
    text = json.dumps(_mark(value), ensure_ascii=False, separators=(",", ":"))
    return _MARKER.sub(lambda match: match.group(1), text)


class DecimalJSONResponse(JSONResponse):
    """A JSONResponse that writes ``Decimal`` values as exact JSON numbers."""

    def render(self, content: Any) -> bytes:
        return dumps(content).encode("utf-8")
