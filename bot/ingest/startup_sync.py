"""The start-up group sync, retried like the contact import: a WeCom outage at start is one warning, not a traceback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channel_ports import ApiError
from bot.ingest.sync import queue_group_sync
from bot.metrics import Metrics
from services.clock import Clock
from services.customers.directory import ContactDirectory, DirectoryUnavailable

log = logging.getLogger("qunke.sync")


async def sync_groups_until_done(
    sessions: async_sessionmaker[AsyncSession],
    directory: ContactDirectory,
    clock: Clock,
    on_queued: Callable[[], None],
    metrics: Metrics,
    retry_s: float,
    stop: asyncio.Event,
) -> None:
    """Queue a re-read of every customer group; after a directory or database error, try again until it works."""
    while not stop.is_set():
        try:
            await queue_group_sync(sessions, directory, clock, on_queued)
            return
        except (DirectoryUnavailable, ApiError, SQLAlchemyError) as exc:
            metrics.group_sync_failures.inc()
            log.warning("start-up group sync failed (%s); retrying in %.0f s", exc, retry_s)
        try:
            await asyncio.wait_for(stop.wait(), retry_s)
        except TimeoutError:
            continue
