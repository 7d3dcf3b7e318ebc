"""`sellerhub serve`: the API with the scheduler running in the same event loop."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.app import create_app
from scheduler.planner import Planner
from sellerhub.runtime import Runtime
from sellerhub.syncing import make_runner

log = logging.getLogger(__name__)


def build_service(runtime: Runtime) -> FastAPI:
    runner = make_runner(runtime)

    async def run_sync(connection_id: str) -> None:
        from api.connect import backfills_of

        if backfills_of(app).running(connection_id):
            log.info("skipping scheduled sync of %s: its first backfill is running", connection_id)
            return
        try:
            results = await runner.sync_connection(connection_id, trigger="schedule")
        except Exception as error:
            log.warning("scheduled sync of %s did not run: %s", connection_id, error)
            return
        failed = [r for r in results if r.status != "succeeded"]
        log.info(
            "scheduled sync of %s: %d streams, %d failed", connection_id, len(results), len(failed)
        )

    planner = Planner(runtime.engine, run_sync)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        planner.start()
        try:
            yield
        finally:
            planner.shutdown()

    app = create_app(runtime, lifespan=lifespan)
    return app
