"""A thin facade over APScheduler 3: it only decides *when*; each run is a tracked task, one at a time per job."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import time
from typing import Final
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.tasks import BackgroundTasks

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]
MISFIRE_GRACE_S: Final = 300


class Scheduler:
    """Jobs are plain coroutines; APScheduler fires, our BackgroundTasks runs (so shutdown drains them)."""

    def __init__(self, tasks: BackgroundTasks, zone: str) -> None:
        self._tasks = tasks
        self._zone = ZoneInfo(zone)
        self._scheduler = AsyncIOScheduler(timezone=self._zone)
        self._running: set[str] = set()
        self._jobs: dict[str, Job] = {}

    def every(self, name: str, seconds: float, job: Job) -> None:
        """Run `job` every `seconds` (the first run one interval after start)."""
        self._add(name, job, IntervalTrigger(seconds=seconds, timezone=self._zone))

    def daily(self, name: str, at: time, job: Job) -> None:
        """Run `job` once a day at `at`, in the configured zone."""
        self._add(name, job, CronTrigger(hour=at.hour, minute=at.minute, timezone=self._zone))

    def _add(self, name: str, job: Job, trigger: IntervalTrigger | CronTrigger) -> None:
        if name in self._jobs:
            raise ValueError(f"job {name!r} is already scheduled")
        self._jobs[name] = job
        self._scheduler.add_job(
            self._fire,
            trigger,
            args=[name],
            id=name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_S,
        )

    def _fire(self, name: str) -> None:
        # A run still in progress makes the next firing a no-op rather than a second concurrent run.
        if name in self._running:
            log.info("job %s is still running; skipping this firing", name)
            return
        self._running.add(name)
        try:
            self._tasks.spawn(self._run(name), f"job:{name}")
        except RuntimeError:
            self._running.discard(name)  # shutting down

    async def run_now(self, name: str) -> None:
        """Run a job in the caller's task (the CLI and tests), still one at a time."""
        if name in self._running:
            return
        self._running.add(name)
        await self._run(name)

    async def _run(self, name: str) -> None:
        try:
            await self._jobs[name]()
        except Exception:
            log.exception("job %s failed; it runs again at its next time", name)
        finally:
            self._running.discard(name)

    def start(self) -> None:
        if self._jobs:
            self._scheduler.start()

    def shutdown(self) -> None:
        """Stop firing; runs in progress are tracked tasks and drain with the others."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
