"""A worker process for the two-process refresh test.

``python -m tests.lifecycle.refresh_worker GO amazon=3,stripe=10`` on the hub named by
``SELLERHUB_HOME``, ``DATABASE_URL`` and ``SELLERHUB_SANDBOX_URLS``: creates ``GO.ready.<pid>``,
waits for the file GO, then syncs the account stream of every active connection that many times
at once, each sync with its own client and token manager (as separate workers would), and prints
one JSON line per sync: connection, status, error.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from connectors.registry import get_connector
from scheduler.runner import StreamRunResult
from sellerhub import control
from sellerhub.runtime import Runtime
from sellerhub.settings import Settings
from sellerhub.syncing import make_runner
from warehouse.tables import Connection


async def sync_account(runtime: Runtime, connection: Connection) -> StreamRunResult:
    connector = get_connector(connection.platform)
    stream = next(s for s in connector.streams if s.name == "account")
    runner = make_runner(runtime)
    async with runtime.open_client(connection) as client:
        return await runner.sync_stream(
            connection, connector, stream, client, runtime.mapping_context(connection)
        )


async def run(go: Path, workers: dict[str, int]) -> list[StreamRunResult]:
    runtime = Runtime(Settings.from_env(), migrate=False)
    try:
        connections = control.list_connections(runtime.engine, statuses=["active"])
        go.with_name(f"{go.name}.ready.{os.getpid()}").touch()
        deadline = time.monotonic() + 60
        while not await asyncio.to_thread(go.exists):
            if time.monotonic() > deadline:
                raise SystemExit("never told to go")
            await asyncio.sleep(0.005)
        return await asyncio.gather(
            *(
                sync_account(runtime, c)
                for c in connections
                for _ in range(workers.get(c.platform, 0))
            )
        )
    finally:
        runtime.close()


def main() -> None:
    workers = {k: int(v) for k, v in (pair.split("=") for pair in sys.argv[2].split(","))}
    results = asyncio.run(run(Path(sys.argv[1]), workers))
    for result in results:
        line = {"connection": result.connection_id, "status": result.status, "error": result.error}
        print(json.dumps(line))


if __name__ == "__main__":
    main()
