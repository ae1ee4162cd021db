"""The inbox writer's two signals to the ingest worker: `busy` (a write was just made: SQLite's lock is wanted) and
`backlogged` (callbacks queue behind a write: PostgreSQL's worker steps aside only then)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
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


async def test_writer_replaces_a_connection_the_server_dropped_without_failing_a_callback(
    engine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A PostgreSQL restart or a killed backend leaves the writer's connection dead; the next batch reconnects at
    once instead of answering 503 (SQLite connections do not die this way: nothing to kill there)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: a SQLite connection has no server backend to lose")
    writer = InboxWriter(async_sessionmaker(engine, expire_on_commit=False), 50, lambda _rows: None)
    running = asyncio.create_task(writer.run())
    try:
        assert await writer.store(_row(1))
        async with engine.connect() as admin:
            killed = await admin.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        assert killed >= 1
        assert await writer.store(_row(2))  # a 503 would have raised here
        assert not [r for r in caplog.records if r.name == "bot.ingest.inbox" and r.levelno >= logging.ERROR]
    finally:
        writer.close()
        await running
    async with engine.connect() as db:
        assert await db.scalar(text("SELECT count(*) FROM inbound_events")) == 2
