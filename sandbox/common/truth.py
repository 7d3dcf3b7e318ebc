"""Ground-truth tallies: counts and per-currency sums in major units, as decimal strings."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any


class Tally:
    def __init__(self) -> None:
        self.count = 0
        self._sums: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))

    def add(self, currency: str | None = None, **amounts: Decimal) -> None:
        self.count += 1
        for field, amount in amounts.items():
            assert currency is not None
            self._sums[field][currency.upper()] += amount

    def as_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "sums": {
                field: {cur: format(total, "f") for cur, total in sorted(by_cur.items())}
                for field, by_cur in sorted(self._sums.items())
            },
        }
