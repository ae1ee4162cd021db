"""/healthz tells the truth: 503 with a reason when the database cannot take writes or a worker is dead."""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from bot.config.platform import DatabaseSettings
from bot.failure_streak import FailureStreak
from bot.health import HealthSources, Worker, health_report
from storage.db import create_db_engine, make_sessionmaker
from tests.support.bot_only import running_bot
from tests.support.stack import bot_settings


async def test_healthz_is_503_naming_free_space_when_the_sqlite_filesystem_is_below_the_threshold(
    database_url: str,
) -> None:
    settings = bot_settings(database_url, "http://127.0.0.1:9")
    # No test can fill this machine's disk; a threshold above any disk's size takes the same path.
    full = settings.model_copy(update={"database": DatabaseSettings(url=database_url, min_free_mb=10**12)})
    async with running_bot(full) as url, aiohttp.ClientSession() as http, http.get(f"{url}/healthz") as resp:
        body = await resp.json()
    if database_url.startswith("sqlite"):
        assert resp.status == 503
        assert body["status"] == "unavailable" and body["database"]["writable"] is False
        assert body["reasons"][0].startswith("database not writable: only ") and "MB free" in body["reasons"][0]
    else:  # PostgreSQL reports its own disk; reachability is what the bot checks
        assert resp.status == 200 and body["database"] == {"reachable": True, "writable": True}
    assert set(body["workers"]) >= {"inbox_writer", "ingest_worker", "outbox_sender"}
    assert body["workers"]["ingest_worker"]["alive"] is True
    assert body["scheduler"]["running"] is True and "service-sla" in body["scheduler"]["jobs"]


async def test_health_names_the_worker_when_its_task_has_died(database_url: str) -> None:
    async def crashes() -> None:
        raise RuntimeError("bug")

    engine = create_db_engine(database_url)
    task = asyncio.create_task(crashes())
    await asyncio.wait([task])
    assert isinstance(task.exception(), RuntimeError)
    try:
        streak = FailureStreak(logging.getLogger("t.health"), "ingest cycle")
        sources = HealthSources(
            make_sessionmaker(engine), database_url, 0, None, {"ingest_worker": Worker(task, streak)}
        )
        status, body = await health_report(sources)
    finally:
        await engine.dispose()
    assert status == 503 and body["reasons"] == ["worker ingest_worker is dead"]
    assert body["workers"] == {"ingest_worker": {"alive": False, **streak.to_dict()}}
