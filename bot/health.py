"""/healthz: 200 only when the database answers and can take writes, every worker is alive and the scheduler runs.

Otherwise 503 with the same JSON and a `reasons` list naming what is wrong, so a load balancer takes the bot out
and an operator reads why in one request.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.event_loop import running_loop_name
from bot.failure_streak import FailureStreak
from bot.scheduler import Scheduler
from storage.db_errors import explain

PROBE_TIMEOUT_S: Final = 3.0
MIB: Final = 1024 * 1024
RECENT_FAILURE_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class Worker:
    """A long-running background loop: its task (alive or not) and its failure streak (progress, errors)."""

    task: asyncio.Task[Any]
    streak: FailureStreak
    # A loop that retries by itself (ingest, sender) soon clears its streak once the database is back, so its
    # streak is a reason for 503. The inbox writer only tries again on the next callback: its streak is a reason only
    # while its last failure is recent, or a load balancer acting on the 503 would never send it that callback.
    retries_itself: bool = True


@dataclass(slots=True)
class HealthSources:
    sessions: async_sessionmaker[AsyncSession]
    database_url: str
    min_free_mb: int
    scheduler: Scheduler | None
    workers: dict[str, Worker] = field(default_factory=dict)


async def health_report(sources: HealthSources) -> tuple[int, dict[str, object]]:
    """(HTTP status, JSON body) for /healthz."""
    reasons: list[str] = []
    database = await _database(sources, reasons)
    workers: dict[str, object] = {}
    for name, worker in sources.workers.items():
        alive = not worker.task.done()
        workers[name] = {"alive": alive, **worker.streak.to_dict()}
        if not alive:
            reasons.append(f"worker {name} is dead")
        elif worker.streak.failing_since is not None and (
            worker.retries_itself or worker.streak.failed_within(RECENT_FAILURE_S)
        ):
            # Reads may still work (SQLite locked, a read-only replica) while every write fails: say so.
            since = worker.streak.failing_since.isoformat(timespec="seconds")
            reasons.append(f"worker {name} failing since {since}: {worker.streak.last_error}")
    scheduler = sources.scheduler
    running = scheduler is not None and scheduler.running
    if scheduler is not None and scheduler.has_jobs and not running:
        reasons.append("scheduler is not running")
    body: dict[str, object] = {
        "status": "ok" if not reasons else "unavailable",
        "reasons": reasons,
        "database": database,
        "event_loop": running_loop_name(),
        "workers": workers,
        "scheduler": {
            "running": running,
            "leads": scheduler is not None and scheduler.leads,
            "jobs": scheduler.status() if scheduler is not None else {},
        },
    }
    return (200 if not reasons else 503), body


async def _database(sources: HealthSources, reasons: list[str]) -> dict[str, object]:
    report: dict[str, object] = {"reachable": False, "writable": False}
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S), sources.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure here is the answer, not an error of /healthz
        detail = explain(exc) or f"{type(exc).__name__}: {exc}"[:200]
        reasons.append(f"database unreachable: {detail}")
        report["error"] = detail
        return report
    report["reachable"] = True
    problem = await asyncio.to_thread(_sqlite_write_problem, sources.database_url, sources.min_free_mb)
    if problem is not None:
        reasons.append(f"database not writable: {problem}")
        report["error"] = problem
    else:
        report["writable"] = True
    return report


def _sqlite_write_problem(url: str, min_free_mb: int) -> str | None:
    """For SQLite, the free space of the file's filesystem against a threshold, and write permission.

    A trial write cannot tell: a small transaction that is rolled back never leaves the page cache, and even a
    committed one fits into WAL pages SQLite already holds, so it succeeds on a full disk until the WAL must grow
    (the fuzz probe saw /healthz say 200 while every callback failed). Free space is what actually runs out.
    PostgreSQL reports a full disk on its own side; reachability is what we can check from here.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    folder = path.parent
    stats = os.statvfs(folder)
    free_mb = stats.f_bavail * stats.f_frsize // MIB
    if free_mb < min_free_mb:
        return f"only {free_mb} MB free on the filesystem of {path} (threshold {min_free_mb} MB)"
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f"{path} or its folder is not writable by this process"
    return None
