"""The scheduler fires jobs by itself on the running event loop (no run_now), and reports each job's health."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot.scheduler import Scheduler
from bot.tasks import BackgroundTasks


async def _until(predicate: Callable[[], bool], deadline_s: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.02)


async def test_interval_job_fires_on_its_own_when_the_scheduler_runs() -> None:
    tasks = BackgroundTasks()
    finished: list[tuple[str, bool]] = []
    scheduler = Scheduler(tasks, "Asia/Shanghai", lambda name, _s, ok: finished.append((name, ok)))
    runs: list[int] = []

    async def job() -> None:
        runs.append(1)

    scheduler.every("tick", 0.1, job)
    scheduler.start()
    try:
        await _until(lambda: len(runs) >= 3)
    finally:
        scheduler.shutdown()
        await tasks.close()
    assert ("tick", True) in finished
    status = scheduler.status()["tick"]
    assert isinstance(status["runs"], int) and status["runs"] >= 3
    assert status["failures"] == 0 and status["last_error"] is None


async def test_failing_job_is_logged_and_runs_again_when_it_raises(caplog: pytest.LogCaptureFixture) -> None:
    tasks = BackgroundTasks()
    scheduler = Scheduler(tasks, "Asia/Shanghai")
    attempts: list[int] = []
    others: list[int] = []

    async def broken() -> None:
        attempts.append(1)
        raise RuntimeError("database is down")

    async def healthy() -> None:
        others.append(1)

    scheduler.every("broken", 0.1, broken)
    scheduler.every("healthy", 0.1, healthy)
    scheduler.start()
    try:
        await _until(lambda: len(attempts) >= 2 and len(others) >= 2)
        status = scheduler.status()
    finally:
        scheduler.shutdown()
        await tasks.close()
    failures = status["broken"]["failures"]
    assert isinstance(failures, int) and failures >= 2
    assert status["broken"]["last_error"] == "RuntimeError: database is down"
    assert status["broken"]["next_run"] is not None
    assert status["healthy"]["failures"] == 0
    assert "job broken failed" in caplog.text


def test_interval_must_be_positive_when_scheduling() -> None:
    scheduler = Scheduler(BackgroundTasks(), "Asia/Shanghai")

    async def job() -> None:
        return None

    with pytest.raises(ValueError, match="interval must be positive"):
        scheduler.every("zero", 0, job)
