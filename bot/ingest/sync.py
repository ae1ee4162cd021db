"""Full re-reads of the directory, queued through the inbox so the ingest worker applies them in order."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.clock import Clock
from services.customers.directory import ContactDirectory
from services.customers.lifecycle import queue_group_resyncs

log = logging.getLogger("qunke.sync")


async def queue_group_sync(
    sessions: async_sessionmaker[AsyncSession],
    directory: ContactDirectory,
    clock: Clock,
    on_queued: Callable[[], None] = lambda: None,
) -> int:
    """List every customer group and queue a re-read of each; returns how many were queued."""
    chat_ids = await directory.list_group_chat_ids()
    now = clock.now()
    async with sessions() as session, session.begin():
        await queue_group_resyncs(session, chat_ids, f"sync:{now.isoformat()}", now)
    on_queued()
    log.info("queued a re-read of %d customer groups", len(chat_ids))
    return len(chat_ids)
