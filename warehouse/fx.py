"""Amounts in a tenant's reporting currency at the ECB euro reference rate of their date.

Rates come from the ``currencyconverter`` package, which ships the ECB's historical euro
reference rates (https://www.ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates/html/index.en.html),
so nothing is fetched at run time. Choices, and why:

* **Published rates only.** The ECB publishes on TARGET business days. For a weekend or
  holiday we use the latest earlier publication (up to ``MAX_LOOKBACK_DAYS`` back), never the
  package's linear interpolation, which is not a rate the ECB ever published. A day after the
  package's last publication uses that last publication. ``rate_date`` says which publication
  was used, so a figure can be audited against the ECB's own table.
* **Cross rates from one fixing.** The ECB quotes units of each currency per euro; A -> B is
  ``eur_B / eur_A`` with both quotes of the same ``rate_date``.
* **Exact decimals.** The package keeps rates as floats; each quote becomes
  ``Decimal(str(float))``, which restores the published text (the ECB publishes at most six
  significant digits and ``repr`` of a float round-trips it). A cross rate is rounded to
  ``RATE_DIGITS`` significant digits (ROUND_HALF_EVEN) and kept as that Decimal; a converted
  amount is ``amount * rate`` quantized to the reporting currency's ISO 4217 exponent with
  ROUND_HALF_EVEN (banker's rounding: no upward bias when many amounts are summed).
* **Same currency** converts at rate 1 with ``rate_date`` = the amount's own day.
* A currency the ECB does not quote has no rate: its reporting amount is ``None``.
"""

from __future__ import annotations

import functools
import importlib.metadata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any, Protocol

from normalizer.money import minor_unit_exponent

RATE_DIGITS = 10
MAX_LOOKBACK_DAYS = 10
_RATE_CONTEXT = Context(prec=RATE_DIGITS, rounding=ROUND_HALF_EVEN)
_EXACT = Context(prec=60, rounding=ROUND_HALF_EVEN)  # products of amounts and rates, unrounded
_ONE = Decimal(1)


@dataclass(frozen=True)
class FxRate:
    """Units of ``quote`` per unit of ``base``, from the ECB publication of ``rate_date``."""

    base: str
    quote: str
    rate: Decimal
    rate_date: date
    source: str


@dataclass(frozen=True)
class Converted:
    amount: Decimal  # in the reporting currency, quantized to its exponent
    currency: str
    rate: Decimal
    rate_date: date
    source: str


class EcbQuotes(Protocol):
    """Euro reference quotes: units of ``currency`` per euro on ``day``, or None."""

    def quote(self, currency: str, day: date) -> Decimal | None: ...

    def last_date(self) -> date: ...

    def first_date(self) -> date: ...

    def knows(self, currency: str) -> bool: ...

    @property
    def source(self) -> str: ...


class PackagedEcbQuotes:
    """The ECB history shipped in ``currencyconverter`` (loaded once, about half a second)."""

    def __init__(self) -> None:
        from currency_converter import CurrencyConverter

        # no fallbacks: a day without a publication must stay visible as missing
        self._converter: Any = CurrencyConverter(
            fallback_on_missing_rate=False, fallback_on_wrong_date=False
        )
        version = importlib.metadata.version("currencyconverter")
        self._source = f"ECB via currencyconverter {version}"

    @property
    def source(self) -> str:
        return self._source

    def knows(self, currency: str) -> bool:
        return currency in self._converter.currencies

    def first_date(self) -> date:
        return min(b.first_date for b in self._converter.bounds.values())  # type: ignore[no-any-return]

    def last_date(self) -> date:
        return max(b.last_date for b in self._converter.bounds.values())  # type: ignore[no-any-return]

    def quote(self, currency: str, day: date) -> Decimal | None:
        from currency_converter import RateNotFoundError

        if currency == "EUR":
            return _ONE
        if not self.knows(currency):
            return None
        try:
            value = self._converter.convert(1, "EUR", currency, date=day)
        except RateNotFoundError:
            return None
        return Decimal(str(value))


class FxRates:
    """Dated cross rates and conversions, memoized per (base, quote, day)."""

    def __init__(self, quotes: EcbQuotes | None = None) -> None:
        self._quotes = quotes or PackagedEcbQuotes()
        self._cache: dict[tuple[str, str, date], FxRate | None] = {}

    @property
    def source(self) -> str:
        return self._quotes.source

    def rate(self, base: str, quote: str, day: date) -> FxRate | None:
        """The rate for an amount dated ``day``; None when the ECB does not quote a currency."""
        base, quote = base.upper(), quote.upper()
        key = (base, quote, day)
        if key not in self._cache:
            self._cache[key] = self._find(base, quote, day)
        return self._cache[key]

    def _find(self, base: str, quote: str, day: date) -> FxRate | None:
        if base == quote:
            return FxRate(base, quote, _ONE, day, self.source)
        if not (self._quotes.knows(base) and self._quotes.knows(quote)):
            return None
        candidate = min(day, self._quotes.last_date())
        for _ in range(MAX_LOOKBACK_DAYS + 1):
            if candidate < self._quotes.first_date():
                return None
            per_euro_base = self._quotes.quote(base, candidate)
            per_euro_quote = self._quotes.quote(quote, candidate)
            if per_euro_base is not None and per_euro_quote is not None:
                return FxRate(
                    base,
                    quote,
                    cross_rate(per_euro_base, per_euro_quote),
                    candidate,
                    self.source,
                )
            candidate -= timedelta(days=1)
        return None

    def convert(self, amount: Decimal, currency: str, to: str, day: date) -> Converted | None:
        found = self.rate(currency, to, day)
        if found is None:
            return None
        return Converted(
            apply_rate(amount, found.rate, to),
            to.upper(),
            found.rate,
            found.rate_date,
            found.source,
        )


def cross_rate(per_euro_base: Decimal, per_euro_quote: Decimal) -> Decimal:
    """Units of quote per unit of base, both given per euro, to ``RATE_DIGITS`` digits."""
    if per_euro_base == per_euro_quote:
        return _ONE
    return _RATE_CONTEXT.divide(per_euro_quote, per_euro_base)


def apply_rate(amount: Decimal, rate: Decimal, currency: str) -> Decimal:
    """``amount * rate`` quantized to ``currency``'s ISO 4217 exponent, ROUND_HALF_EVEN."""
    product = _EXACT.multiply(amount, rate)
    return product.quantize(_quantum(currency), rounding=ROUND_HALF_EVEN, context=_EXACT)


@functools.cache
def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_unit_exponent(currency))


@functools.cache
def default_rates() -> FxRates:
    """One process-wide converter (the ECB history is loaded once)."""
    return FxRates()
