"""The inbox writer's two signals to the ingest worker: `busy` (a write was just made: SQLite's lock is wanted) and
`backlogged` (callbacks queue behind a write: PostgreSQL's worker steps aside only then)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

import bot.ingest.inbox as inbox_module
from bot.ingest.inbox import PILE_UP_CALLBACKS, InboxWriter
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


async def test_inbox_is_rushing_while_callbacks_arrive_far_faster_than_a_steady_day(
    engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's worker steps aside while acks saturate the loop: a high arrival rate, or a pile-up."""
    now = [1000.0]
    monkeypatch.setattr(inbox_module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    writer = InboxWriter(async_sessionmaker(engine, expire_on_commit=False), 500, lambda _rows: None)
    pending: list[asyncio.Task[bool]] = []

    async def arrive(count: int, over_s: float) -> None:
        for _ in range(count):
            now[0] += over_s / count
            pending.append(asyncio.create_task(writer.store(_row(len(pending)))))
        await asyncio.sleep(0)

    await arrive(10, 0.1)  # 100/s: a steady day
    assert not writer.rushing()
    running = asyncio.create_task(writer.run())
    await asyncio.gather(*pending)
    await arrive(60, 0.03)  # 2,000/s
    await arrive(1, 0.03)  # the window closes: its rate is known
    assert writer.rushing()
    await asyncio.gather(*pending)
    now[0] += 1.0  # then nothing for a second: the last window says nothing about now
    assert not writer.rushing()
    writer.close()
    await running


async def test_inbox_is_rushing_when_callbacks_pile_up_behind_a_write(engine: Any) -> None:
    writer = InboxWriter(async_sessionmaker(engine, expire_on_commit=False), 500, lambda _rows: None)
    stores = [asyncio.create_task(writer.store(_row(n))) for n in range(PILE_UP_CALLBACKS)]
    await asyncio.sleep(0)  # queued, and no writer runs yet: a pile-up whatever the rate
    assert writer.rushing()
    running = asyncio.create_task(writer.run())
    await asyncio.gather(*stores)
    writer.close()
    await running
