from __future__ import annotations

from decimal import Decimal

import pytest

from normalizer.errors import MappingError
from normalizer.money import (
    ISO_4217_EXPONENTS,
    from_minor_units,
    from_stripe_minor_units,
    minor_unit_exponent,
    normalize_currency,
    parse_amount,
    stripe_minor_unit_exponent,
)


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("VND", 0), ("CLP", 0), ("ISK", 0),
     ("BHD", 3), ("KWD", 3), ("JOD", 3), ("OMR", 3), ("TND", 3), ("CLF", 4), ("jpy", 0)],
)  # fmt: skip
def test_iso_exponents(currency: str, exponent: int) -> None:
    assert minor_unit_exponent(currency) == exponent


def test_iso_table_is_well_formed() -> None:
    assert len(ISO_4217_EXPONENTS) > 150
    for code, exponent in ISO_4217_EXPONENTS.items():
        assert len(code) == 3 and code.isalpha() and code.isupper()
        assert exponent in {0, 2, 3, 4}


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [(1234, "USD", "12.34"), (-1234, "usd", "-12.34"), (500, "JPY", "500"),
     (12345, "KWD", "12.345"), (7, "BHD", "0.007"), (0, "EUR", "0.00")],
)  # fmt: skip
def test_from_minor_units_is_exact(amount: int, currency: str, text: str) -> None:
    value = from_minor_units(amount, currency)
    assert value == Decimal(text)
    assert str(value) == text  # the scale follows the currency


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [(500, "JPY", "500"), (500, "jpy", "500"), (500, "USD", "5.00"), (12340, "KWD", "12.340"),
     # Stripe special cases: ISK stays two-decimal in the API, MGA is zero-decimal at Stripe.
     (500, "ISK", "5.00"), (500, "HUF", "5.00"), (500, "TWD", "5.00"), (500, "MGA", "500"),
     (500, "UGX", "500"), (500, "XOF", "500")],
)  # fmt: skip
def test_from_stripe_minor_units(amount: int, currency: str, text: str) -> None:
    assert str(from_stripe_minor_units(amount, currency)) == text


def test_stripe_and_iso_exponents_differ_where_stripe_says_so() -> None:
    assert minor_unit_exponent("ISK") == 0 and stripe_minor_unit_exponent("ISK") == 2
    assert minor_unit_exponent("MGA") == 2 and stripe_minor_unit_exponent("MGA") == 0


def test_minor_units_accept_an_integral_decimal() -> None:
    # Airbyte output turns some integers into 5300.0, which parse_float=Decimal keeps exact.
    assert from_stripe_minor_units(Decimal("5300.0"), "usd") == Decimal("53.00")


@pytest.mark.parametrize("bad", [12.5, 12.0, True, Decimal("10.5"), Decimal("NaN"), "100", None])
def test_minor_units_refuse_non_integers(bad: object) -> None:
    with pytest.raises(MappingError, match=r"^amount: "):
        from_stripe_minor_units(bad, "USD")


@pytest.mark.parametrize(
    ("value", "text"),
    [("12.30", "12.30"), (" -0.50 ", "-0.50"), ("+7", "7"), (".5", "0.5"), (42, "42"),
     (Decimal("-14.60"), "-14.60"), ("1980", "1980")],
)  # fmt: skip
def test_parse_amount_keeps_exact_digits(value: object, text: str) -> None:
    assert str(parse_amount(value)) == text


@pytest.mark.parametrize(
    "bad",
    [0.1, 10.0, True, False, Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), "NaN",
     "inf", "1e5", "12,50", "", "abc", "1.2.3", None, [], {}],
)  # fmt: skip
def test_parse_amount_refuses_garbage(bad: object) -> None:
    with pytest.raises(MappingError, match=r"^totalAmount\.currencyAmount: "):
        parse_amount(bad, "totalAmount.currencyAmount")


def test_parse_amount_explains_floats() -> None:
    with pytest.raises(MappingError, match="float"):
        parse_amount(0.1)


@pytest.mark.parametrize("bad", ["XYZ", "US", "", "  ", None, 840, "DOLLAR"])
def test_unknown_currencies_are_refused(bad: object) -> None:
    with pytest.raises(MappingError, match=r"^currency: "):
        normalize_currency(bad)


def test_currency_is_upper_cased() -> None:
    assert normalize_currency(" gbp ") == "GBP"
