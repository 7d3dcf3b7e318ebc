"""httpx2 must stay out: with it installed, authlib's clients bypass respx (DESIGN.md)."""

from __future__ import annotations

import importlib.util


def test_httpx2_is_not_importable() -> None:
    assert importlib.util.find_spec("httpx2") is None, (
        "httpx2 is installed (pulled in by fastapi[standard] or starlette[full]?); "
        "authlib would use it and bypass respx"
    )
