"""Keep secrets out of messages: every platform text we put in an error or a log passes here."""

from __future__ import annotations

import re

MAX_MESSAGE = 300
MASK = "***"

# Token shapes of the platforms we call, masked even when we do not know the exact value:
# Login with Amazon access/refresh tokens start with Atza|/Atzr|
# (https://developer.amazon.com/docs/login-with-amazon/access-token.html); Stripe keys and
# Connect tokens are sk_/rk_ keys and rt_ refresh tokens (https://docs.stripe.com/keys).
_TOKEN_SHAPES = re.compile(
    r"Atz[ar]\|[^\s\"',;]+"
    r"|\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]+"
    r"|\brt_[A-Za-z0-9]{8,}"
    r"|(?i:bearer)\s+[^\s\"',;]+"
)


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with known ``secrets`` and token-shaped strings masked, cut to a short line."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    text = _TOKEN_SHAPES.sub(MASK, text)
    text = " ".join(text.split())
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1] + "…"
    return text
