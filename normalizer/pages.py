"""Raw records out of a saved API response page or a JSON-lines file.

Backs ``sellerhub normalize PLATFORM STREAM FILE``. The file is either one JSON document (an API
response page, in the platform's own envelope, or a single record) or JSON lines (one raw record
per line, or Airbyte-style ``{"stream": ..., "data": {...}}`` lines, whose ``data`` is taken
when the stream matches). Numbers are parsed exactly: every number with a fraction or exponent
becomes ``Decimal`` of its text, integers stay ``int`` (as ``json.loads(text,
parse_float=Decimal)``, which still gives the verdict on anything msgspec refuses).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

JsonDict = dict[str, Any]

_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def _loads(data: bytes | str) -> Any:
    """``json.loads(text, parse_float=Decimal)``'s value, decoded by msgspec when it can.

    msgspec refuses NaN/Infinity, lone surrogate escapes and invalid UTF-8, which json takes or
    rejects in its own words: json.loads of the text then returns or raises as before.
    """
    try:
        return _DECODER.decode(data)
    except (ValueError, RecursionError):
        return json.loads(_as_text(data) if isinstance(data, bytes) else data, parse_float=Decimal)


def _as_text(data: bytes) -> str:
    """The text ``Path.read_text(encoding="utf-8")`` gives: strict UTF-8, universal newlines."""
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def _stream_key(name: str) -> str:
    """Loose stream-name key: ``Orders`` ~ ``orders``, ``accounts`` ~ ``account``."""
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    return key[:-1] if key.endswith("s") else key


def _dicts(items: object) -> Iterator[JsonDict]:
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict):
                yield item


def _amazon_records(stream: str, doc: Mapping[str, Any]) -> Iterator[JsonDict]:
    payload = doc.get("payload")
    if stream == "orders":
        if isinstance(doc.get("orders"), list):  # searchOrders v2026-01-01: no payload wrapper
            yield from _dicts(doc["orders"])
        elif isinstance(doc.get("order"), dict):  # getOrder v2026-01-01
            yield doc["order"]
        elif isinstance(payload, dict) and isinstance(payload.get("Orders"), list):  # v0
            yield from _dicts(payload["Orders"])
        elif isinstance(payload, dict) and "AmazonOrderId" in payload:  # v0 getOrder
            yield payload
        else:
            yield dict(doc)
    elif stream == "transactions":
        if isinstance(payload, dict) and isinstance(payload.get("transactions"), list):
            yield from _dicts(payload["transactions"])
        elif isinstance(doc.get("transactions"), list):
            yield from _dicts(doc["transactions"])
        else:
            yield dict(doc)
    elif stream == "account":
        if isinstance(payload, list):  # getMarketplaceParticipations
            yield from _dicts(payload)
        else:
            yield dict(doc)
    else:
        yield dict(doc)


def _stripe_records(doc: Mapping[str, Any]) -> Iterator[JsonDict]:
    if isinstance(doc.get("data"), list):  # a list object (or search result)
        yield from _dicts(doc["data"])
    else:
        yield dict(doc)


def _from_document(platform: str, stream: str, doc: object) -> Iterator[JsonDict]:
    if isinstance(doc, list):
        for item in doc:
            yield from _from_document(platform, stream, item)
        return
    if not isinstance(doc, dict):
        raise ValueError(f"expected JSON objects, found {type(doc).__name__}")
    body: JsonDict = doc
    # Airbyte protocol message or expected-records line.
    if body.get("type") == "RECORD" and isinstance(body.get("record"), dict):
        body = body["record"]
    if isinstance(body.get("stream"), str) and isinstance(body.get("data"), dict):
        if _stream_key(body["stream"]) == _stream_key(stream):
            yield body["data"]
        return
    if isinstance(body.get("errors"), list) and len(body) <= 2:
        raise ValueError("the file holds an API error response, not records")
    if platform == "amazon":
        yield from _amazon_records(stream, body)
    elif platform == "stripe":
        yield from _stripe_records(body)
    else:
        yield body


def iter_raw_records(platform: str, stream: str, path: str | Path) -> Iterator[JsonDict]:
    """Every raw record of ``stream`` in the file at ``path`` (see the module doc)."""
    data = Path(path).read_bytes()
    try:
        documents: list[Any] = [_loads(data)]
    except json.JSONDecodeError:
        text = _as_text(data)
        documents = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                documents.append(_loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: line {number} is not JSON: {exc.msg}") from None
    for document in documents:
        yield from _from_document(platform, stream, document)
