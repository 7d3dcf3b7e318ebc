"""Column types that keep money exact and JSON decimals exact on every backend."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import simplejson
from sqlalchemy import types
from sqlalchemy.engine.interfaces import Dialect


class ExactDecimal(types.TypeDecorator[Decimal]):
    """``NUMERIC`` on PostgreSQL; the decimal's exact text on SQLite.

    SQLite has no decimal type: SQLAlchemy's ``Numeric`` there goes through REAL (a float) and
    loses cents on large sums, so the embedded default keeps the exact string instead. Sums over
    SQLite money are done in Python with ``Decimal``; PostgreSQL can sum in SQL.
    """

    impl = types.Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(types.String(64))
        return dialect.type_descriptor(types.Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be Decimal, got {type(value).__name__}")
        if not value.is_finite():
            raise ValueError("money must be finite")
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


def dumps_json(value: Any) -> str:
    """JSON text with ``Decimal`` written as an exact number (as the platform sent it)."""
    text: str = simplejson.dumps(value, use_decimal=True, sort_keys=True, separators=(",", ":"))
    return text


def loads_json(text: str | bytes) -> Any:
    return simplejson.loads(text, use_decimal=True)
