"""The daily retention purge's registration: `privacy.retention_days` > 0 schedules it at `privacy.run_at`."""

from __future__ import annotations

import logging
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config.settings import Settings
from bot.metrics import Metrics
from bot.scheduler import Scheduler
from services.clock import Clock
from services.privacy.retention import RetentionPolicy, purge_expired

log = logging.getLogger(__name__)

RETENTION_JOB: Final = "retention"


def schedule_retention(
    scheduler: Scheduler,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    metrics: Metrics,
) -> None:
    """Off unless `privacy.retention_days` is set; its runs and failures show in /healthz under scheduler.jobs."""
    privacy = settings.privacy
    if privacy.retention_days <= 0:
        return
    policy = RetentionPolicy(days=privacy.retention_days, batch_size=privacy.batch_size)

    def purged(table: str, count: int) -> None:
        metrics.retention_purged.labels(table=table).inc(count)

    async def retention_job() -> None:
        await purge_expired(sessions, clock.now(), policy, purged)

    scheduler.daily(RETENTION_JOB, privacy.run_at, retention_job)
    log.info("retention: messages older than %d days are purged daily at %s", policy.days, privacy.run_at)
