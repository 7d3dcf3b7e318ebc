"""When each connection is due: APScheduler 3.x, in process, rebuilt from our tables.

APScheduler 3 cannot share a job store between processes (its FAQ), so the jobs live in memory
and are re-planned from the ``connections`` table every minute: new consents get a job,
disconnected or re-auth-required connections lose theirs. One job per connection; a job never
overlaps itself (``max_instances=1``) and missed runs coalesce into one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from sellerhub.control import list_connections

log = logging.getLogger(__name__)

SyncJob = Callable[[str], Awaitable[object]]
REPLAN_EVERY = timedelta(minutes=1)


class Planner:
    def __init__(self, engine: Engine, run_sync: SyncJob) -> None:
        self._engine = engine
        self._run_sync = run_sync
        self._scheduler = AsyncIOScheduler(timezone=UTC)

    def start(self) -> None:
        self._scheduler.add_job(
            self.replan,
            IntervalTrigger(seconds=REPLAN_EVERY.total_seconds()),
            id="replan",
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
        )
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def planned(self) -> set[str]:
        return {job.id for job in self._scheduler.get_jobs() if job.id != "replan"}

    async def replan(self) -> None:
        active = {c.id: c for c in list_connections(self._engine, statuses=["active"])}
        for job_id in self.planned() - set(active):
            self._scheduler.remove_job(job_id)
            log.info("unscheduled %s (no longer active)", job_id)
        for connection_id, connection in active.items():
            if connection_id in self.planned():
                continue
            self._scheduler.add_job(
                self._run_sync,
                IntervalTrigger(seconds=connection.sync_interval_seconds),
                args=[connection_id],
                id=connection_id,
                next_run_time=datetime.now(UTC),
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
            log.info("scheduled %s every %ss", connection_id, connection.sync_interval_seconds)
