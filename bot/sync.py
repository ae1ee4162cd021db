"""Full re-reads of the directory, queued through the inbox so the ingest worker applies them in order."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.clock import Clock
from services.directory import ContactDirectory
from services.lifecycle import INTERNAL_SOURCE, RESYNC_KIND
from storage.repos import inbound

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
    rows = [
        inbound.NewInbound(
            dedupe_key=f"sync:{chat_id}:{now.isoformat()}"[:160],
            source=INTERNAL_SOURCE,
            kind=RESYNC_KIND,
            payload=json.dumps({"chat_id": chat_id}),
            received_at=now,
        )
        for chat_id in chat_ids
    ]
    async with sessions() as session, session.begin():
        await inbound.insert_many_if_new(session, rows)
    on_queued()
    log.info("queued a re-read of %d customer groups", len(rows))
    return len(rows)
