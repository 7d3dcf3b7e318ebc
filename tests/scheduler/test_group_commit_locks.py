"""Group commit and PostgreSQL row locks: two writers of one seller whose groups touch the same
daily-metrics buckets in crossing orders both commit (no deadlock), because a group marks its
buckets once, sorted, at its end (``warehouse.metrics.DeferredMarks``)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Connection, Engine, select

from scheduler.write_behind import WriteBehind
from warehouse import metrics
from warehouse.metrics import DeferredMarks
from warehouse.scoring_tables import MetricsDirty
from warehouse.tables import table_of
from warehouse.writer import ConnectionScope, RowChange

pytestmark = pytest.mark.postgres

DAY_A = date(2026, 3, 1)
DAY_B = date(2026, 3, 2)
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def transaction_on(day: date, external_id: str) -> RowChange:
    return RowChange(
        entity="transactions",
        external_id=external_id,
        before=None,
        after={"occurred_at": datetime(day.year, day.month, day.day, 9, tzinfo=UTC)},
    )


def page_marking(
    scope: ConnectionScope, day: date, name: str, meet: threading.Barrier | None
) -> Callable[[Connection, DeferredMarks], int]:
    def write(conn: Connection, marks: DeferredMarks) -> int:
        count = metrics.mark_dirty(conn, scope, [transaction_on(day, name)], NOW, marks)
        if meet is not None:
            # both writers are inside their groups' transactions, first page written
            meet.wait()
        return count

    return write


def run_writer(
    engine: Engine, connection_id: str, days: tuple[date, date], meet: threading.Barrier
) -> None:
    scope = ConnectionScope("tenant-1", "seller-1", connection_id, "stripe")

    async def load() -> None:
        writer = WriteBehind(engine)
        hold = threading.Event()

        def held_first(_conn: Connection, _marks: DeferredMarks) -> int:
            assert hold.wait(10)
            return 0

        # one page in flight, so the next two queue up and commit as one group
        await writer.submit(held_first, records=1)
        await asyncio.sleep(0)  # it starts, alone
        await writer.submit(page_marking(scope, days[0], "first", meet), records=1)
        await writer.submit(page_marking(scope, days[1], "second", None), records=1)
        hold.set()
        await writer.drain()
        assert writer.groups_written == 2

    asyncio.run(load())


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_writers_of_one_seller_with_crossing_groups_both_commit(engine: Engine) -> None:
    meet = threading.Barrier(2, timeout=15)
    errors: list[BaseException] = []

    def guarded(connection_id: str, days: tuple[date, date]) -> None:
        try:
            run_writer(engine, connection_id, days, meet)
        except BaseException as error:  # reported below, with the other writer's
            errors.append(error)

    writers = [
        threading.Thread(target=guarded, args=("conn-x", (DAY_B, DAY_A))),
        threading.Thread(target=guarded, args=("conn-y", (DAY_A, DAY_B))),
    ]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(60)
    assert errors == []
    dirty = table_of(MetricsDirty)
    with engine.connect() as conn:
        marked = {row.day: row.seq for row in conn.execute(select(dirty.c.day, dirty.c.seq))}
    assert marked == {DAY_A: 2, DAY_B: 2}  # each writer marked both days once
