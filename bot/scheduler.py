"""A thin facade over APScheduler 3: it only decides *when*; each run is a tracked task, one at a time per job."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Final
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.tasks import BackgroundTasks

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]
JobListener = Callable[[str, float, bool], None]
MISFIRE_GRACE_S: Final = 300


@dataclass(slots=True)
class JobStatus:
    """What /healthz says of one job: when it last ran, how that went, and when it runs next."""

    name: str
    runs: int = 0
    failures: int = 0
    last_started: datetime | None = None
    last_finished: datetime | None = None
    last_error: str | None = None
    running: bool = False

    def to_dict(self, next_run: datetime | None) -> dict[str, object]:
        return {
            "runs": self.runs,
            "failures": self.failures,
            "running": self.running,
            "last_started": _iso(self.last_started),
            "last_finished": _iso(self.last_finished),
            "last_error": self.last_error,
            "next_run": _iso(next_run),
        }


class Scheduler:
    """Jobs are plain coroutines; APScheduler fires on the event loop, our BackgroundTasks runs them (so shutdown
    drains them)."""

    def __init__(
        self,
        tasks: BackgroundTasks,
        zone: str,
        on_finished: JobListener | None = None,
        leads: Callable[[], bool] | None = None,
    ) -> None:
        self._tasks = tasks
        # On PostgreSQL only the leading process fires (bot/leader.py), so each firing runs once across processes.
        self._leads = leads or (lambda: True)
        self._zone = ZoneInfo(zone)
        self._scheduler = AsyncIOScheduler(timezone=self._zone)
        self._jobs: dict[str, Job] = {}
        self._status: dict[str, JobStatus] = {}
        self._on_finished = on_finished

    def every(self, name: str, seconds: float, job: Job) -> None:
        """Run `job` every `seconds` (the first run one interval after start)."""
        if seconds <= 0:
            raise ValueError(f"job {name!r}: interval must be positive, got {seconds}")
        self._add(name, job, IntervalTrigger(seconds=seconds, timezone=self._zone))

    def daily(self, name: str, at: time, job: Job) -> None:
        """Run `job` once a day at `at`, in the configured zone."""
        self._add(name, job, CronTrigger(hour=at.hour, minute=at.minute, timezone=self._zone))

    def _add(self, name: str, job: Job, trigger: IntervalTrigger | CronTrigger) -> None:
        if name in self._jobs:
            raise ValueError(f"job {name!r} is already scheduled")
        self._jobs[name] = job
        self._status[name] = JobStatus(name)
        # `_fire` is a coroutine function, so APScheduler's AsyncIOExecutor runs it on the event loop. A plain
        # function would go to a worker thread, where there is no running loop to create our task on.
        self._scheduler.add_job(
            self._fire,
            trigger,
            args=[name],
            id=name,
            name=name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_S,
        )

    async def _fire(self, name: str) -> None:
        if not self._leads():
            return  # another process leads; it fires this one
        # A run still in progress makes the next firing a no-op rather than a second concurrent run.
        if self._status[name].running:
            log.info("job %s is still running; skipping this firing", name)
            return
        self._status[name].running = True
        try:
            self._tasks.spawn(self._run(name), f"job:{name}")
        except RuntimeError:
            self._status[name].running = False  # shutting down: BackgroundTasks refuses new work

    async def run_now(self, name: str) -> None:
        """Run a job in the caller's task (the CLI and unit tests), still one at a time."""
        if self._status[name].running:
            return
        self._status[name].running = True
        await self._run(name)

    async def _run(self, name: str) -> None:
        status = self._status[name]
        status.last_started = datetime.now(UTC)
        loop = asyncio.get_running_loop()
        began = loop.time()
        ok = False
        try:
            await self._jobs[name]()
            ok = True
            status.last_error = None
        except Exception as exc:
            status.failures += 1
            status.last_error = f"{type(exc).__name__}: {exc}"[:500]
            log.exception("job %s failed; it runs again at its next time", name)
        finally:
            status.runs += 1
            status.running = False
            status.last_finished = datetime.now(UTC)
            if self._on_finished is not None:
                self._on_finished(name, loop.time() - began, ok)

    def start(self) -> None:
        if self._jobs:
            self._scheduler.start()

    @property
    def has_jobs(self) -> bool:
        return bool(self._jobs)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    @property
    def leads(self) -> bool:
        """Whether this process fires the jobs (always on SQLite; the advisory-lock holder on PostgreSQL)."""
        return self._leads()

    def status(self) -> dict[str, dict[str, object]]:
        """Per job: runs, failures, last start/finish/error and the next firing time."""
        report: dict[str, dict[str, object]] = {}
        for name, status in self._status.items():
            job = self._scheduler.get_job(name) if self._scheduler.running else None
            next_run = job.next_run_time if job is not None else None
            report[name] = status.to_dict(next_run)
        return report

    def shutdown(self) -> None:
        """Stop firing; runs in progress are tracked tasks and drain with the others."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
