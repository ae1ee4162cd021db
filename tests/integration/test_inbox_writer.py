"""The inbox writer's two signals to the ingest worker: `busy` (a write was just made: SQLite's lock is wanted) and
`backlogged` (callbacks queue behind a write: PostgreSQL's worker steps aside only then)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.ingest.inbox import InboxWriter
from storage.repos.inbound import NewInbound


def _row(n: int) -> NewInbound:
    return NewInbound(f"test:{n}", "wecom", "text", "{}", datetime(2026, 12, 7, 5, 0, tzinfo=UTC))


async def test_inbox_is_backlogged_only_while_callbacks_queue_when_writes_have_just_flowed(engine: Any) -> None:
    commits: list[int] = []
    writer = InboxWriter(async_sessionmaker(engine, expire_on_commit=False), 50, commits.append)
    assert not writer.backlogged() and not writer.busy(within_s=60.0)
    stores = [asyncio.create_task(writer.store(_row(n))) for n in range(5)]
    await asyncio.sleep(0)  # each store has queued its row; nothing writes them yet
    assert writer.backlogged() and writer.busy()
    running = asyncio.create_task(writer.run())
    assert await asyncio.gather(*stores) == [True] * 5
    assert sum(commits) == 5
    # Written a moment ago: SQLite's worker still steps aside; nothing queues, so PostgreSQL's does not.
    assert writer.busy(within_s=60.0) and not writer.backlogged()
    writer.close()
    await running
