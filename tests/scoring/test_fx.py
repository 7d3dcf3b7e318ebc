"""Reporting-currency conversion at ECB reference rates shipped by ``currencyconverter``.

Expected values are computed here from the package's own quotes (read independently of
``warehouse.fx``), with exact Decimal arithmetic.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import pytest
from currency_converter import CurrencyConverter, RateNotFoundError

from warehouse.fx import FxRates, default_rates

FRIDAY = date(2024, 3, 15)
SATURDAY = date(2024, 3, 16)
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def ecb() -> CurrencyConverter:
    return CurrencyConverter()  # no fallbacks: only days the ECB published


@pytest.fixture(scope="module")
def rates() -> FxRates:
    return default_rates()


def quote(ecb: CurrencyConverter, currency: str, day: date) -> Decimal:
    """Units of ``currency`` per euro as the ECB published them (the float's shortest text)."""
    return Decimal(str(ecb.convert(1, "EUR", currency, date=day)))


def exact(value: Decimal, quantum: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 50
        return value.quantize(quantum, rounding=ROUND_HALF_EVEN)


def test_the_ecb_published_nothing_on_the_saturday(ecb: CurrencyConverter) -> None:
    with pytest.raises(RateNotFoundError):
        ecb.convert(1, "EUR", "USD", date=SATURDAY)
    assert quote(ecb, "USD", FRIDAY) > 0


def test_jpy_to_usd_uses_the_cross_rate_of_the_ecb_publication_of_its_day(
    ecb: CurrencyConverter, rates: FxRates
) -> None:
    usd, jpy = quote(ecb, "USD", FRIDAY), quote(ecb, "JPY", FRIDAY)
    converted = rates.convert(Decimal(12345), "JPY", "USD", FRIDAY)
    assert converted is not None
    with localcontext() as ctx:
        ctx.prec = 50
        true_rate = usd / jpy
        assert abs(converted.rate - true_rate) / true_rate < Decimal("1e-9")
        assert converted.amount == exact(Decimal(12345) * true_rate, CENT)
    assert converted.amount.as_tuple().exponent == -2
    assert (converted.currency, converted.rate_date) == ("USD", FRIDAY)
    assert "currencyconverter" in converted.source


def test_a_weekend_amount_uses_the_last_publication_before_it(
    ecb: CurrencyConverter, rates: FxRates
) -> None:
    usd = quote(ecb, "USD", FRIDAY)
    converted = rates.convert(Decimal("99.99"), "EUR", "USD", SATURDAY)
    assert converted is not None
    # EUR -> USD is the published quote itself, kept exactly
    assert converted.rate == usd
    assert converted.rate_date == FRIDAY
    assert converted.amount == exact(Decimal("99.99") * usd, CENT)

    jpy_amount = rates.convert(Decimal(5000), "JPY", "USD", SATURDAY)
    friday_amount = rates.convert(Decimal(5000), "JPY", "USD", FRIDAY)
    assert jpy_amount is not None and friday_amount is not None
    assert (jpy_amount.amount, jpy_amount.rate_date) == (friday_amount.amount, FRIDAY)


def test_converting_into_jpy_rounds_to_whole_yen(ecb: CurrencyConverter, rates: FxRates) -> None:
    usd, jpy = quote(ecb, "USD", FRIDAY), quote(ecb, "JPY", FRIDAY)
    converted = rates.convert(Decimal("10.00"), "USD", "JPY", FRIDAY)
    assert converted is not None
    with localcontext() as ctx:
        ctx.prec = 50
        assert converted.amount == exact(Decimal("10.00") * jpy / usd, Decimal(1))
    assert converted.amount.as_tuple().exponent == 0


def test_the_same_currency_converts_at_one_on_its_own_day(rates: FxRates) -> None:
    converted = rates.convert(Decimal("12.345"), "USD", "USD", SATURDAY)
    assert converted is not None
    assert (converted.rate, converted.rate_date) == (Decimal(1), SATURDAY)
    assert converted.amount == Decimal("12.34")  # half-even: 12.345 -> 12.34


def test_a_day_after_the_shipped_history_uses_its_last_publication(
    ecb: CurrencyConverter, rates: FxRates
) -> None:
    last = min(ecb.bounds["USD"].last_date, ecb.bounds["JPY"].last_date)
    later = last + timedelta(days=40)
    converted = rates.convert(Decimal(1000), "JPY", "USD", later)
    assert converted is not None
    assert converted.rate_date == last
    assert converted == rates.convert(Decimal(1000), "JPY", "USD", last)


def test_a_currency_the_ecb_does_not_quote_has_no_rate(rates: FxRates) -> None:
    assert rates.rate("AED", "USD", FRIDAY) is None
    assert rates.convert(Decimal(1), "USD", "AED", FRIDAY) is None
