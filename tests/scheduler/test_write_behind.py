"""WriteBehind: page writes in order, one in flight, errors reach the reader."""

from __future__ import annotations

import asyncio
import threading

import pytest

from scheduler.write_behind import WriteBehind


async def test_writes_run_in_order_one_at_a_time_while_the_reader_goes_on() -> None:
    writer = WriteBehind()
    log: list[str] = []
    running = 0
    most_at_once = 0
    lock = threading.Lock()
    release = [threading.Event() for _ in range(3)]

    def write(n: int) -> int:
        nonlocal running, most_at_once
        with lock:
            running += 1
            most_at_once = max(most_at_once, running)
        release[n].wait(5)
        with lock:
            running -= 1
        log.append(f"write {n}")
        return n

    committed: list[int] = []
    for n in range(3):
        await writer.submit(lambda n=n: write(n), committed.append)
        log.append(f"read {n + 1}")  # the reader is free while write n runs
        release[n].set()
    await writer.drain()
    assert log == ["read 1", "write 0", "read 2", "write 1", "read 3", "write 2"]
    assert committed == [0, 1, 2]
    assert most_at_once == 1


async def test_a_failed_write_is_raised_at_the_next_page_and_stops_later_ones() -> None:
    writer = WriteBehind()
    written: list[int] = []

    def fail() -> None:
        raise RuntimeError("disk full")

    await writer.submit(fail, None)
    with pytest.raises(RuntimeError, match="disk full"):
        await writer.submit(lambda: written.append(2), None)
    await writer.drain()
    assert written == []


async def test_drain_raises_the_last_write_error_once() -> None:
    writer = WriteBehind()

    def fail() -> None:
        raise ValueError("bad row")

    await writer.submit(fail, None)
    with pytest.raises(ValueError, match="bad row"):
        await writer.drain()
    await writer.drain()  # nothing left in flight


async def test_done_is_not_called_for_a_failed_write() -> None:
    writer = WriteBehind()
    called: list[object] = []

    def fail() -> None:
        raise OSError("gone")

    await writer.submit(fail, called.append)
    with pytest.raises(OSError, match="gone"):
        await writer.drain()
    await asyncio.sleep(0)
    assert called == []
