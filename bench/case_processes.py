"""Case (a''), ours in several sync processes: the accounts are shared out between N
processes, each running ``ours`` (the runner's path: map, prepare, write behind) for its own
accounts against the same database, as N ``sellerhub sync`` workers for different connections
would. SQLite serializes their transactions (``BEGIN IMMEDIATE`` with a busy timeout);
PostgreSQL runs them side by side (the page writer locks per stream)."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from pathlib import Path

from bench.case_ours import _load_behind, map_page, prepare
from sellerhub.memory import freeze_startup_objects
from warehouse.engine import make_engine


def _accounts(data: Path) -> list[str]:
    """Accounts in order of first appearance (the same list in every process)."""
    seen: dict[str, None] = {}
    with data.open("rb") as lines:
        for line in lines:
            seen.setdefault(line.split(b"\t", 1)[0].decode(), None)
    return list(seen)


def _load_share(url: str, data: Path, page_size: int, share: list[str]) -> int:
    engine = make_engine(url)
    freeze_startup_objects()
    mine = set(share)
    try:
        return asyncio.run(_load_behind(engine, data, page_size, map_page, mine.__contains__))
    finally:
        engine.dispose()


def run(
    url: str, data: Path, page_size: int, processes: int
) -> tuple[Callable[[], int], Callable[[], None]]:
    prepare(url).dispose()  # schema, tenant and seller; each process opens its own engine
    accounts = _accounts(data)
    shares = [accounts[index::processes] for index in range(processes)]

    def load() -> int:
        context = multiprocessing.get_context("fork")
        with context.Pool(processes) as pool:
            counts = pool.starmap(_load_share, [(url, data, page_size, share) for share in shares])
        return sum(counts)

    return load, lambda: None
