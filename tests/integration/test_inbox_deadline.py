"""A database that hangs instead of failing: each callback waits at most ack_timeout_s (503, the platform retries),
its row is still written when the database answers, and the queue behind a hung write stays bounded."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

import bot.ingest.inbox as inbox_module
from bot.ingest.inbox import InboxSlow, InboxWriter
from storage.repos.inbound import NewInbound

ACK_TIMEOUT_S = 0.4


def _row(n: int) -> NewInbound:
    return NewInbound(f"slow:{n}", "wecom", "text", "{}", datetime(2026, 12, 7, 5, 0, tzinfo=UTC))


@asynccontextmanager
async def _writes_blocked(engine: Any) -> AsyncIterator[None]:
    """Another client holds the inbox's table: every insert waits (SQLite up to busy_timeout) until it lets go."""
    if engine.dialect.name == "sqlite":
        locker = sqlite3.connect(engine.url.database, isolation_level=None, check_same_thread=False)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            locker.rollback()
            locker.close()
        return
    async with engine.connect() as locker:
        await locker.execute(text("LOCK TABLE inbound_events IN EXCLUSIVE MODE"))
        try:
            yield
        finally:
            await locker.rollback()


async def _stored(engine: Any) -> set[str]:
    async with engine.connect() as db:
        return {key for (key,) in await db.execute(text("SELECT dedupe_key FROM inbound_events"))}


async def test_a_callback_whose_commit_hangs_is_answered_slow_in_time_and_its_row_is_still_written(
    engine: Any,
) -> None:
    writer = InboxWriter(async_sessionmaker(engine), 50, lambda _rows: None, ack_timeout_s=ACK_TIMEOUT_S)
    running = asyncio.create_task(writer.run())
    try:
        async with _writes_blocked(engine):
            started = time.monotonic()
            first = asyncio.create_task(writer.store(_row(1)))  # taken by the writer, which then hangs
            await asyncio.sleep(0.05)
            behind = asyncio.create_task(writer.store(_row(2)))  # queued behind the hung write
            for waiter in (first, behind):
                with pytest.raises(InboxSlow):
                    await waiter
            waited = time.monotonic() - started
            assert ACK_TIMEOUT_S <= waited < ACK_TIMEOUT_S + inbox_module.EXPIRY_TICK_S + 0.3, waited
            assert writer.streak.failing_since is not None and "503" in (writer.streak.last_error or "")
        # The database answers: both rows are written, and the platform's retry of either is a duplicate.
        assert await writer.store(_row(3))
        assert not await writer.store(_row(1)) and not await writer.store(_row(2))
        assert writer.streak.failing_since is None
    finally:
        writer.close()
        await running
    assert await _stored(engine) == {"slow:1", "slow:2", "slow:3"}


async def test_the_queue_behind_a_hung_write_is_bounded_by_dropping_the_oldest_callbacks_already_answered(
    engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox_module, "MAX_QUEUED_CALLBACKS", 4)
    writer = InboxWriter(async_sessionmaker(engine), 50, lambda _rows: None, ack_timeout_s=ACK_TIMEOUT_S)
    running = asyncio.create_task(writer.run())
    try:
        async with _writes_blocked(engine):
            waiters = [asyncio.create_task(writer.store(_row(0)))]
            await asyncio.sleep(0.05)  # row 0 is being written; 1-4 fill the queue
            waiters += [asyncio.create_task(writer.store(_row(n))) for n in range(1, 5)]
            for waiter in waiters:
                with pytest.raises(InboxSlow):
                    await waiter
            # Full of callbacks answered 503 already: the oldest make room for new ones.
            fresh = [asyncio.create_task(writer.store(_row(n))) for n in (5, 6)]
            await asyncio.sleep(0.05)
        assert await asyncio.gather(*fresh) == [True, True]
    finally:
        writer.close()
        await running
    assert await _stored(engine) == {f"slow:{n}" for n in (0, 3, 4, 5, 6)}


async def test_a_full_queue_of_callbacks_still_in_time_refuses_the_next_one_at_once(
    engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox_module, "MAX_QUEUED_CALLBACKS", 3)
    writer = InboxWriter(async_sessionmaker(engine), 50, lambda _rows: None)
    queued = [asyncio.create_task(writer.store(_row(n))) for n in range(3)]
    await asyncio.sleep(0)  # no writer runs yet: all three wait, none is late
    with pytest.raises(InboxSlow):
        await writer.store(_row(3))
    running = asyncio.create_task(writer.run())
    assert await asyncio.gather(*queued) == [True] * 3
    writer.close()
    await running


async def test_a_postgresql_insert_left_unanswered_is_cancelled_and_the_next_one_gets_a_fresh_connection(
    engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A half-open connection would hold the writer until TCP gives up; a lock held as long stands in for it."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite's writes end at busy_timeout")
    monkeypatch.setattr(inbox_module, "WRITE_TIMEOUT_S", 0.3)
    writer = InboxWriter(async_sessionmaker(engine), 50, lambda _rows: None, ack_timeout_s=ACK_TIMEOUT_S)
    running = asyncio.create_task(writer.run())
    try:
        async with _writes_blocked(engine):
            with pytest.raises(InboxSlow):
                await writer.store(_row(1))
            deadline = time.monotonic() + 10
            # The insert and its one retry on a fresh connection time out: the batch fails, logged as such.
            while "left an insert unanswered" not in (writer.streak.last_error or ""):
                assert time.monotonic() < deadline, writer.streak.last_error
                await asyncio.sleep(0.05)
        assert await writer.store(_row(2))
    finally:
        writer.close()
        await running
    assert await _stored(engine) == {"slow:2"}
