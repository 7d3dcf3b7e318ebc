"""Exact money helpers: ISO 4217 exponents, minor units, decimal strings."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor-unit exponents for the currencies the sandbox uses.
# https://www.iso.org/iso-4217-currency-codes.html ; Stripe: https://docs.stripe.com/currencies#zero-decimal
_EXPONENTS = {"USD": 2, "EUR": 2, "JPY": 0, "GBP": 2, "CAD": 2}


def exponent(currency: str) -> int:
    return _EXPONENTS[currency.upper()]


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit (half up, like a till)."""
    step = Decimal(1).scaleb(-exponent(currency))
    return amount.quantize(step, rounding=ROUND_HALF_UP)


def to_minor(amount: Decimal, currency: str) -> int:
    return int(quantize(amount, currency).scaleb(exponent(currency)))


def from_minor(units: int, currency: str) -> Decimal:
    return quantize(Decimal(units).scaleb(-exponent(currency)), currency)


def decimal_str(amount: Decimal, currency: str) -> str:
    """``12.30`` for USD, ``1200`` for JPY: the string form Amazon Orders sends."""
    return format(quantize(amount, currency), "f")
