"""A child process for the lock tests.

``count URL KEY COUNTER N GO``: creates ``GO.ready.<pid>``, waits for the file GO, then N times,
under KEY's refresh lock, reads the number in COUNTER, yields, and writes it back plus one (lost
updates without the lock).
``hold URL KEY``: takes the lock, prints ``locked`` and waits to be killed.
"""

# ruff: noqa: ASYNC240 (tiny local files; blocking reads are the point of the race)

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from sellerhub.locks import refresh_locks_for
from warehouse.engine import make_engine


async def count(url: str, key: str, counter: Path, times: int, go: Path) -> None:
    locks = refresh_locks_for(make_engine(url))
    lock = locks.for_connection(key)
    go.with_name(f"{go.name}.ready.{os.getpid()}").touch()
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit("never told to go")
        await asyncio.sleep(0.01)
    for _ in range(times):
        async with lock.hold():
            value = int(counter.read_text())
            await asyncio.sleep(0.002)
            counter.write_text(str(value + 1))
    locks.close()


async def hold(url: str, key: str) -> None:
    locks = refresh_locks_for(make_engine(url))
    async with locks.for_connection(key).hold():
        print("locked", flush=True)
        await asyncio.sleep(3600)


def main(argv: list[str]) -> None:
    if argv[0] == "count":
        asyncio.run(count(argv[1], argv[2], Path(argv[3]), int(argv[4]), Path(argv[5])))
    elif argv[0] == "hold":
        asyncio.run(hold(argv[1], argv[2]))
    else:
        raise SystemExit(f"unknown mode {argv[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])
