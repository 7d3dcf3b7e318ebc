"""Garbage-collector settings for long-running hub processes.

A sync or a load allocates many short-lived objects per page (parsed records, canonical
records, driver rows). CPython's cyclic collector then keeps re-scanning every object the
process imported at start-up (SQLAlchemy, pydantic, FastAPI...), which are never garbage.
``gc.freeze()`` moves those objects out of the collector's generations
(https://docs.python.org/3/library/gc.html#gc.freeze); collections then only look at what
the work itself allocated. Measured on the load benchmark: about 8% less CPU per record.

The youngest generation is also collected less often: every 50,000 net container allocations
instead of CPython's 700 (https://docs.python.org/3/library/gc.html#gc.set_threshold).
Mapping and preparing a page keep about 11 more containers per record alive than they free
until the page is done, so the default ran a collection every 60 records or so, each finding
almost nothing: records are freed by reference counting, and a whole load leaves about 160
objects in cycles per page of 1000 records (transaction and event-loop bookkeeping). Measured
on the load benchmark: another 3-7% less CPU per record; peak memory of one sync process at 100k
records 121 -> 124 MiB (docs/benchmarks.md, fourth and fifth rounds).
"""

from __future__ import annotations

import gc

YOUNG_GENERATION_THRESHOLD = 50_000


def freeze_startup_objects() -> None:
    """Collect once, exempt everything alive now from later collections, and collect the
    youngest generation less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
