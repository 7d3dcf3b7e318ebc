"""Opaque, signed page tokens: the keyset position, the query they belong to, when issued.

Self-contained (no server memory), so pagination survives an emulator restart; the HMAC key
comes from the world seed, so a restarted process accepts its predecessor's tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any


class PageTokenError(ValueError):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PageTokens:
    def __init__(self, secret: str, lifetime: timedelta | None = None) -> None:
        self._key = hashlib.sha256(secret.encode()).digest()
        self._lifetime = lifetime

    def issue(self, position: list[Any], query: str, now: datetime) -> str:
        body = json.dumps({"p": position, "q": query, "t": int(now.timestamp())}).encode()
        mac = hmac.new(self._key, body, hashlib.sha256).digest()[:12]
        return _b64(body) + "." + _b64(mac)

    def read(self, token: str, query: str, now: datetime) -> list[Any]:
        try:
            body_text, mac_text = token.split(".", 1)
            body = _unb64(body_text)
            mac = _unb64(mac_text)
        except (ValueError, TypeError) as exc:
            raise PageTokenError("The pagination token is invalid.") from exc
        expected = hmac.new(self._key, body, hashlib.sha256).digest()[:12]
        if not hmac.compare_digest(mac, expected):
            raise PageTokenError("The pagination token is invalid.")
        data = json.loads(body)
        if data["q"] != query:
            raise PageTokenError("The pagination token does not match the other query parameters.")
        if (
            self._lifetime is not None
            and now.timestamp() - data["t"] > self._lifetime.total_seconds()
        ):
            raise PageTokenError("The pagination token has expired.")
        position: list[Any] = data["p"]
        return position
