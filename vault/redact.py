"""Keeping secrets out of reprs and logs: ``mask``, ``Secret`` and ``SecretRedactingFilter``."""

from __future__ import annotations

import hmac
import logging
import re
import threading
from collections.abc import Iterable

REDACTED = "…(redacted)"
MIN_REGISTERED_LENGTH = 6  # shorter values would redact ordinary words

# Token shapes recognised without registration. Each keeps a short, non-secret prefix.
TOKEN_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Login with Amazon access (Atza|) and refresh (Atzr|) tokens
    # https://developer-docs.amazon.com/sp-api/docs/connecting-to-the-selling-partner-api
    re.compile(r"\bAtz[ar]\|[^\s\"'&,;<>]+"),
    # Stripe secret and restricted keys, OAuth refresh tokens, webhook secrets
    # https://docs.stripe.com/keys  https://docs.stripe.com/connect/oauth-reference
    re.compile(r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{8,}"),
    re.compile(r"\brt_[0-9A-Za-z]{8,}"),
    re.compile(r"\bwhsec_[0-9A-Za-z]{8,}"),
    # Shopify access tokens and app secrets
    # https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens
    re.compile(r"\bshp(?:at|ca|pa|ss)_[0-9A-Fa-f]{16,}"),
    # Square access tokens
    # https://developer.squareup.com/docs/build-basics/access-tokens
    re.compile(r"\bEAAA[0-9A-Za-z_\-]{20,}"),
)

# "<label><value>" forms whose value is a secret; group 1 (the label) is kept.
_LABELLED_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=|\-]{8,}"),
    re.compile(
        r"(?i)(\bauthorization\b[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic|token)\s+)?)"
        r"[^\s\"',;}]+"
    ),
    re.compile(
        r"(?i)(\b(?:access_token|refresh_token|id_token|client_secret|code_verifier|password"
        r"|api_key|x-amz-access-token|x-shopify-access-token)\b[\"']?\s*[:=]\s*[\"']?)"
        r"[^\"'\s&,;}]+"
    ),
    # authorization codes in callback URLs (Amazon sends spapi_oauth_code)
    # https://developer-docs.amazon.com/sp-api/docs/website-authorization-workflow
    re.compile(r"([?&](?:code|spapi_oauth_code)=)[^&\s\"'#]+"),
)

# Attributes every LogRecord has; other string attributes came from ``extra=`` and get redacted.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def mask(value: str) -> str:
    """``"sk_test_abc…"`` -> ``"sk_t…(redacted)"``; short values show nothing of themselves."""
    return (value[:4] if len(value) >= 16 else "") + REDACTED


class Secret:
    """A string that prints masked everywhere (str, repr, format); ``reveal()`` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return mask(self._value)

    def __repr__(self) -> str:
        return f"Secret({mask(self._value)!r})"

    def __format__(self, spec: str) -> str:
        return format(mask(self._value), spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def _mask_match(match: re.Match[str]) -> str:
    return mask(match.group(0))


def _keep_label(match: re.Match[str]) -> str:
    return match.group(1) + REDACTED


class SecretRedactingFilter(logging.Filter):
    """Redacts registered secret values and token-looking strings from log records.

    Attach it to *handlers* (a logger's own filters do not see records from child loggers).
    The message is rendered, redacted and frozen (``args`` cleared); a traceback is rendered into
    ``exc_text``, redacted, and ``exc_info`` dropped so no formatter re-renders it unredacted.
    """

    def __init__(self, secrets: Iterable[str] = (), *, name: str = "") -> None:
        super().__init__(name)
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._registered: re.Pattern[str] | None = None
        for value in secrets:
            self.register(value)

    def __repr__(self) -> str:
        return f"SecretRedactingFilter(<{len(self._values)} registered>)"

    def register(self, value: str) -> None:
        """Redact this exact value from now on (values under 6 characters are ignored)."""
        if len(value) < MIN_REGISTERED_LENGTH:
            return
        with self._lock:
            if value in self._values:
                return
            self._values.add(value)
            ordered = sorted(self._values, key=len, reverse=True)
            self._registered = re.compile("|".join(re.escape(v) for v in ordered))

    def redact(self, text: str) -> str:
        registered = self._registered
        if registered is not None:
            text = registered.sub(_mask_match, text)
        for pattern in TOKEN_PATTERNS:
            text = pattern.sub(_mask_match, text)
        for pattern in _LABELLED_PATTERNS:
            text = pattern.sub(_keep_label, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record or leak its args
            message = f"{record.msg!s} (unformattable arguments)"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


def install(
    redactor: SecretRedactingFilter | None = None, logger: logging.Logger | None = None
) -> SecretRedactingFilter:
    """Add ``redactor`` (a new one if None) to every handler of ``logger`` (default: root).

    Call it after logging is configured: handlers added later do not get the filter.
    """
    if redactor is None:
        redactor = SecretRedactingFilter()
    for handler in (logger or logging.getLogger()).handlers:
        handler.addFilter(redactor)
    return redactor
