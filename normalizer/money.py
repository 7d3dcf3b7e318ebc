"""Exact money: ISO 4217 minor units, amount parsing, and Stripe's own minor-unit rules.

Every amount becomes a ``Decimal``. Floats are refused everywhere: a platform's JSON must be
parsed with ``json.loads(text, parse_float=Decimal)`` so that Amazon's JSON-number amounts stay
exact (a float has already lost digits by the time we would see it).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Final

from normalizer.errors import MappingError

# ISO 4217 minor-unit exponents (the "Minor unit" column of list one).
# Source: ISO 4217 maintenance agency (SIX), "Current currency & funds code list",
# https://www.six-group.com/en/products-services/financial-information/data-standards.html
# Zero-decimal: BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF.
# Three-decimal: BHD IQD JOD KWD LYD OMR TND. Four: CLF UYW.
ISO_4217_EXPONENTS: Final[dict[str, int]] = {
    "AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2,
    "AZN": 2, "BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0, "BMD": 2,
    "BND": 2, "BOB": 2, "BOV": 2, "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2,
    "BZD": 2, "CAD": 2, "CDF": 2, "CHE": 2, "CHF": 2, "CHW": 2, "CLF": 4, "CLP": 0,
    "CNY": 2, "COP": 2, "COU": 2, "CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0,
    "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2,
    "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2, "GNF": 0, "GTQ": 2,
    "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2,
    "IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2, "JOD": 3, "JPY": 0, "KES": 2, "KGS": 2,
    "KHR": 2, "KMF": 0, "KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2, "LAK": 2,
    "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2, "LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2,
    "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2, "MVR": 2, "MWK": 2,
    "MXN": 2, "MXV": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2,
    "NPR": 2, "NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2,
    "PLN": 2, "PYG": 0, "QAR": 2, "RON": 2, "RSD": 2, "RUB": 2, "RWF": 0, "SAR": 2,
    "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2, "SHP": 2, "SLE": 2, "SOS": 2,
    "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2, "TJS": 2,
    "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2,
    "UGX": 0, "USD": 2, "USN": 2, "UYI": 0, "UYU": 2, "UYW": 4, "UZS": 2, "VED": 2,
    "VES": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2, "XCG": 2, "XOF": 0,
    "XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
    # Withdrawn codes that still occur in older records (ISO list three, historic denominations).
    "ANG": 2, "BYR": 0, "CUC": 2, "HRK": 2, "MRO": 2, "SLL": 2, "STD": 2, "VEF": 2,
    "ZWL": 2,
}  # fmt: skip

# Stripe amounts are integers in Stripe's own "smallest unit", which is not always ISO's.
# https://docs.stripe.com/currencies#zero-decimal
STRIPE_ZERO_DECIMAL: Final[frozenset[str]] = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
     "XAF", "XOF", "XPF"}
)  # fmt: skip
# https://docs.stripe.com/currencies#three-decimal (the last digit is always 0 in practice)
STRIPE_THREE_DECIMAL: Final[frozenset[str]] = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
# Special cases (https://docs.stripe.com/currencies#special-cases): ISK, HUF and TWD stay
# two-decimal in the API even where the money itself has no fractional unit (ISK is
# zero-decimal in ISO 4217, but Stripe's ISK 100 means 1 krona); MGA is zero-decimal at Stripe
# but has exponent 2 in ISO 4217. So Stripe amounts must never go through the ISO table.

_DECIMAL_TEXT = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")


# Known codes by the exact text a platform sent ("usd", "USD", " eur"): a cache of successes.
_KNOWN_TEXT: dict[str, str] = {}
_KNOWN_TEXT_LIMIT = 4096

# Stripe's exponent of every ISO 4217 code we know (see ``stripe_minor_unit_exponent``).
_STRIPE_EXPONENTS: Final[dict[str, int]] = {
    code: 0 if code in STRIPE_ZERO_DECIMAL else 3 if code in STRIPE_THREE_DECIMAL else 2
    for code in ISO_4217_EXPONENTS
}


def normalize_currency(value: object, field: str = "currency") -> str:
    """An ISO 4217 code from a platform (any case) -> upper-case code we know."""
    if type(value) is str:
        known = _KNOWN_TEXT.get(value)
        if known is not None:
            return known
    code = _normalize_currency(value, field)
    if len(_KNOWN_TEXT) < _KNOWN_TEXT_LIMIT and type(value) is str:
        _KNOWN_TEXT[value] = code
    return code


def _normalize_currency(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MappingError(f"{field}: missing currency code")
    code = value.strip().upper()
    if code not in ISO_4217_EXPONENTS:
        raise MappingError(f"{field}: unknown currency {code[:8]!r}")
    return code


def minor_unit_exponent(currency: str) -> int:
    """ISO 4217 exponent: 2 for USD, 0 for JPY, 3 for KWD."""
    return ISO_4217_EXPONENTS[normalize_currency(currency)]


def stripe_minor_unit_exponent(currency: str) -> int:
    """Stripe's exponent for ``currency`` (see the special cases above)."""
    return _STRIPE_EXPONENTS[normalize_currency(currency)]


def parse_amount(value: str | int | Decimal | object, field: str = "amount") -> Decimal:
    """A decimal string, an int or a finite Decimal -> Decimal. Refuses float, bool, NaN, inf."""
    if isinstance(value, bool):
        raise MappingError(f"{field}: boolean is not an amount")
    if isinstance(value, float):
        raise MappingError(f"{field}: float amounts are not exact; parse JSON with Decimal")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MappingError(f"{field}: amount is not finite")
        return value
    if isinstance(value, str):
        text = value.strip()
        if not _DECIMAL_TEXT.match(text):
            raise MappingError(f"{field}: not a decimal amount: {text[:32]!r}")
        try:
            return Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid text
            raise MappingError(f"{field}: not a decimal amount") from exc
    if value is None:
        raise MappingError(f"{field}: missing amount")
    raise MappingError(f"{field}: amount must be a string or a number, got {type(value).__name__}")


def _minor_integer(value: object, field: str) -> int:
    """An integer count of minor units (int, or an integral Decimal such as ``5300.0``)."""
    if type(value) is int:
        return value
    if isinstance(value, (bool, float)):
        raise MappingError(f"{field}: minor units must be an integer, got {type(value).__name__}")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            raise MappingError(f"{field}: minor units must be a whole number")
        return int(value)
    if value is None:
        raise MappingError(f"{field}: missing amount")
    raise MappingError(f"{field}: minor units must be an integer, got {type(value).__name__}")


def _scale(minor: int, exponent: int) -> Decimal:
    return Decimal(minor).scaleb(-exponent)


def from_minor_units(
    amount: int | Decimal | object, currency: str, field: str = "amount"
) -> Decimal:
    """Integer minor units -> Decimal with the ISO 4217 exponent (USD 1234 -> 12.34)."""
    return _scale(_minor_integer(amount, field), minor_unit_exponent(currency))


def from_stripe_minor_units(
    amount: int | Decimal | object, currency: str, field: str = "amount"
) -> Decimal:
    """Stripe integer amount -> Decimal with Stripe's exponent (JPY 500 -> 500, USD 500 -> 5.00)."""
    minor = _minor_integer(amount, field)
    # ``currency`` is usually a code normalize_currency returned: skip normalizing it again.
    exponent = _STRIPE_EXPONENTS.get(currency) if type(currency) is str else None
    if exponent is None:
        exponent = stripe_minor_unit_exponent(currency)
    return _scale(minor, exponent)
