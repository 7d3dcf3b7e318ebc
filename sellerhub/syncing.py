"""Run syncs for a set of connections, concurrently, and gather what happened."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from scheduler.runner import StreamRunResult, SyncRunner
from sellerhub.runtime import Runtime
from warehouse.tables import Connection


@dataclass
class SyncReport:
    results: list[StreamRunResult] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # connection id -> why it did not run

    @property
    def failed(self) -> list[StreamRunResult]:
        return [r for r in self.results if r.status != "succeeded"]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.errors


def make_runner(runtime: Runtime) -> SyncRunner:
    return SyncRunner(runtime.engine, runtime, runtime.mapping_context)


async def sync_connections(
    runtime: Runtime,
    connections: Sequence[Connection],
    *,
    streams: Sequence[str] | None = None,
    trigger: str = "manual",
    on_page: Callable[[str, str, int], None] | None = None,
) -> SyncReport:
    runner = make_runner(runtime)
    report = SyncReport()

    async def one(connection: Connection) -> None:
        def page_seen(stream: str, records: int) -> None:
            if on_page is not None:
                on_page(connection.id, stream, records)

        try:
            report.results.extend(
                await runner.sync_connection(
                    connection.id, streams=streams, trigger=trigger, on_page=page_seen
                )
            )
        except Exception as error:  # reported per connection, never a traceback
            report.errors[connection.id] = f"{type(error).__name__}: {error}"

    await asyncio.gather(*(one(c) for c in connections))
    return report
