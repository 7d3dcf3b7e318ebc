"""How many sales a seeded seller makes on a given day: seasons plus a weekly rhythm."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta

# Holiday peak in November/December, a January lull (e-commerce seasonality).
_MONTH_FACTOR = {
    1: 0.75,
    2: 0.8,
    3: 0.9,
    4: 0.95,
    5: 1.0,
    6: 0.95,
    7: 1.05,
    8: 1.0,
    9: 0.95,
    10: 1.05,
    11: 1.35,
    12: 1.55,
}
# Monday .. Sunday: weekends sell more.
_WEEKDAY_FACTOR = (0.85, 0.9, 0.95, 0.95, 1.05, 1.2, 1.1)


def expected_per_day(day: date, per_month: float) -> float:
    base = per_month / 30.4
    return base * _MONTH_FACTOR[day.month] * _WEEKDAY_FACTOR[day.weekday()]


def daily_counts(
    rng: random.Random, start: date, end: date, per_month: float
) -> Iterator[tuple[date, int]]:
    """Yield (day, number of sales) for each day in [start, end)."""
    day = start
    while day < end:
        lam = expected_per_day(day, per_month)
        yield day, max(0, round(rng.gauss(lam, math.sqrt(lam))))
        day += timedelta(days=1)


def times_in_day(rng: random.Random, day: datetime, count: int) -> list[datetime]:
    """``count`` sorted moments within the day starting at ``day`` (whole seconds)."""
    seconds = sorted(rng.randrange(86_400) for _ in range(count))
    return [day + timedelta(seconds=s) for s in seconds]
