"""WriteBehind: pages written in order behind the reader, queued pages committed together, a
group all-or-nothing, the queue bounded, errors raised to the reader. On a real SQLite file."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine

from scheduler.write_behind import WriteBehind
from warehouse.engine import make_engine
from warehouse.metrics import DeferredMarks


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'pages.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE pages (n INTEGER NOT NULL)")
    return engine


def stored(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [row[0] for row in conn.exec_driver_sql("SELECT n FROM pages ORDER BY rowid")]


def page_write(
    n: int, log: list[str], hold: threading.Event | None = None
) -> Callable[[Connection, DeferredMarks], int]:
    def write(conn: Connection, _marks: DeferredMarks) -> int:
        if hold is not None:
            assert hold.wait(5), "the test never released the write"
        conn.exec_driver_sql("INSERT INTO pages (n) VALUES (?)", (n,))
        log.append(f"write {n}")
        return n

    return write


async def test_pages_queued_during_a_write_commit_together_in_order(engine: Engine) -> None:
    writer = WriteBehind(engine)
    log: list[str] = []
    committed: list[int] = []
    hold = threading.Event()
    await writer.submit(page_write(0, log, hold), records=100, done=committed.append)
    await asyncio.sleep(0)  # the reader awaits the platform: page 0's write starts
    for n in (1, 2, 3):  # the reader goes on while page 0 is being written
        await writer.submit(page_write(n, log), records=100, done=committed.append)
        log.append(f"read {n + 1}")
    hold.set()
    await writer.drain()
    assert log == ["read 2", "read 3", "read 4", "write 0", "write 1", "write 2", "write 3"]
    assert committed == [0, 1, 2, 3]
    assert stored(engine) == [0, 1, 2, 3]
    assert writer.groups_written == 2  # page 0 alone, then 1-3 in one transaction


async def test_one_group_in_flight_at_a_time(engine: Engine) -> None:
    writer = WriteBehind(engine, max_pending_records=1)
    running = 0
    most_at_once = 0
    lock = threading.Lock()

    def write(conn: Connection, _marks: DeferredMarks) -> None:
        nonlocal running, most_at_once
        with lock:
            running += 1
            most_at_once = max(most_at_once, running)
        conn.exec_driver_sql("INSERT INTO pages (n) VALUES (1)")
        with lock:
            running -= 1

    for _ in range(20):
        await writer.submit(write, records=1)
    await writer.drain()
    assert most_at_once == 1
    assert len(stored(engine)) == 20


async def test_the_reader_waits_once_the_queue_is_full(engine: Engine) -> None:
    writer = WriteBehind(engine, max_pending_records=250)
    log: list[str] = []
    hold = threading.Event()
    await writer.submit(page_write(0, log, hold), records=100)
    await asyncio.sleep(0)
    await writer.submit(page_write(1, log), records=100)  # queued: 100 < 250
    submit = asyncio.ensure_future(writer.submit(page_write(2, log), records=200))
    await asyncio.sleep(0.05)
    assert not submit.done()  # 300 records queued: the reader waits for the write in flight
    hold.set()
    await submit
    await writer.drain()
    assert stored(engine) == [0, 1, 2]


async def test_a_failed_write_rolls_back_its_whole_group_and_drops_the_queue(
    engine: Engine,
) -> None:
    writer = WriteBehind(engine)
    log: list[str] = []
    committed: list[int] = []
    hold = threading.Event()

    def fail(conn: Connection, _marks: DeferredMarks) -> None:
        conn.exec_driver_sql("INSERT INTO pages (n) VALUES (99)")
        raise RuntimeError("disk full")

    await writer.submit(page_write(0, log, hold), records=10, done=committed.append)
    await asyncio.sleep(0)
    await writer.submit(page_write(1, log), records=10, done=committed.append)
    await writer.submit(fail, records=10, done=committed.append)
    hold.set()
    with pytest.raises(RuntimeError, match="disk full"):
        await writer.drain()
    # page 1 shared a transaction with the failed page: neither it nor 99 was kept
    assert stored(engine) == [0]
    assert committed == [0]
    await writer.drain()  # raised once; nothing left


async def test_a_failed_write_is_raised_at_the_next_page_which_is_not_written(
    engine: Engine,
) -> None:
    writer = WriteBehind(engine)
    log: list[str] = []

    def fail(_conn: Connection, _marks: DeferredMarks) -> None:
        raise ValueError("bad row")

    await writer.submit(fail, records=1)
    await asyncio.sleep(0)
    for _ in range(500):  # until the failed group has finished
        if not writer.writing:
            break
        await asyncio.sleep(0.01)
    with pytest.raises(ValueError, match="bad row"):
        await writer.submit(page_write(2, log), records=1)
    await writer.drain()
    assert stored(engine) == []
    assert log == []


async def test_after_commit_sees_each_groups_results_once_committed(engine: Engine) -> None:
    seen: list[tuple[list[int], list[int]]] = []
    writer = WriteBehind(
        engine, after_commit=lambda results: seen.append((results, stored(engine)))
    )
    log: list[str] = []
    hold = threading.Event()
    await writer.submit(page_write(0, log, hold), records=1)
    await asyncio.sleep(0)
    await writer.submit(page_write(1, log), records=1)
    await writer.submit(page_write(2, log), records=1)
    hold.set()
    await writer.drain()
    assert seen == [([0], [0]), ([1, 2], [0, 1, 2])]


async def test_a_done_callback_that_raises_does_not_stall_the_queue(engine: Engine) -> None:
    writer = WriteBehind(engine)
    log: list[str] = []
    hold = threading.Event()

    def broken(_: object) -> None:
        raise KeyError("callback bug")

    loop = asyncio.get_running_loop()
    handled: list[object] = []
    loop.set_exception_handler(lambda _loop, context: handled.append(context.get("exception")))
    await writer.submit(page_write(0, log, hold), records=1, done=broken)
    await asyncio.sleep(0)
    await writer.submit(page_write(1, log), records=1)
    hold.set()
    await writer.drain()
    assert stored(engine) == [0, 1]
    assert any(isinstance(error, KeyError) for error in handled)


def test_the_queue_limit_must_be_positive(engine: Engine) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        WriteBehind(engine, max_pending_records=0)


async def test_drain_right_after_a_group_finishes_returns(engine: Engine) -> None:
    """The reader can resume in the loop turn where the write's task finished, before the
    task's done callback runs; awaiting a finished future does not yield, so ``drain`` must
    settle the group itself instead of waiting for the callback (it once spun forever)."""

    def stuck(_signum: int, _frame: object) -> None:
        raise TimeoutError("drain did not return")

    previous = signal.signal(signal.SIGALRM, stuck)
    signal.setitimer(signal.ITIMER_REAL, 10, 0.05)  # then again every 50 ms until out
    try:
        for n in range(40):
            writer = WriteBehind(engine)
            hold = threading.Event()
            await writer.submit(page_write(n, [], hold), records=1)
            # the reader's own work ends as it lets the write go: both finish in one turn
            await asyncio.to_thread(hold.set)
            await asyncio.to_thread(time.sleep, 0)
            await writer.drain()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert stored(engine) == list(range(40))


async def test_a_reader_that_never_yields_fills_a_group_then_waits_for_it(engine: Engine) -> None:
    """Pages already in hand (an import, the load bench): no write contends with the reader;
    the full group is written while the reader waits."""
    writer = WriteBehind(engine, max_pending_records=300)
    log: list[str] = []
    await writer.submit(page_write(0, log), records=100)
    await writer.submit(page_write(1, log), records=100)
    assert not writer.writing
    assert stored(engine) == []
    await writer.submit(page_write(2, log), records=100)  # 300: the queue is full
    assert stored(engine) == [0, 1, 2]
    assert writer.groups_written == 1
    await writer.submit(page_write(3, log), records=100)
    await writer.drain()
    assert stored(engine) == [0, 1, 2, 3]
    assert writer.groups_written == 2
