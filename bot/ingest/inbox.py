"""Group-committed inbox writes: callbacks arriving together share one transaction, each waits for its commit.

`InboxClosed` lives in bot/channel_ports.py (the webhooks catch it without importing ingest); re-exported here."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot.channel_ports import InboxClosed
from bot.failure_streak import FailureStreak
from storage.db_errors import is_connection_lost
from storage.repos.inbound import NewInbound
from storage.repos.inbox_driver import insert_new_rows

__all__ = ["InboxClosed", "InboxWriter"]

log = logging.getLogger(__name__)

# A closed-loop burst keeps few callbacks queued (each sender waits for its ack), so a queue alone does not show
# that acks saturate the loop; their arrival rate does. One process sees ~100/s in bench/load_test.py's 200/s
# over two, and acks ~5,000/s flat out (bench/ingest.py).
RUSH_PER_S: Final = 1000.0
RATE_WINDOW_S: Final = 0.05
PILE_UP_CALLBACKS: Final = 32


@dataclass(slots=True)
class _Pending:
    row: NewInbound
    done: asyncio.Future[bool]


class InboxWriter:
    """`store()` returns only after the row is committed (True if new, False if a replay)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        max_rows: int,
        on_commit: Callable[[int], None],
    ) -> None:
        self._sessions = sessions
        self._connection: AsyncConnection | None = None
        self._max_rows = max_rows
        self._on_commit = on_commit
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._closed = False
        self._last_write = 0.0
        self._writing = False
        self._window_start, self._window_count, self._arrival_rate = time.monotonic(), 0, 0.0
        self.streak = FailureStreak(log, "inbox write", recovered="database reachable again")

    def busy(self, within_s: float = 0.02) -> bool:
        """Callbacks are waiting or being written (on SQLite, maybe waiting for the worker's write lock), or were
        written a moment ago: a burst is under way."""
        return self._writing or not self._queue.empty() or time.monotonic() - self._last_write < within_s

    def backlogged(self) -> bool:
        """Callbacks arrived and wait behind a write in progress: acks are queueing, not merely flowing."""
        return not self._queue.empty()

    def rushing(self) -> bool:
        """Callbacks arrive far faster than a steady day brings them (RUSH_PER_S over the last window), or pile up
        behind the write in progress: the event loop is the acks' bottleneck, and processing should wait."""
        fresh = time.monotonic() - self._window_start < 2 * RATE_WINDOW_S
        return (fresh and self._arrival_rate >= RUSH_PER_S) or self._queue.qsize() >= PILE_UP_CALLBACKS

    async def store(self, row: NewInbound) -> bool:
        if self._closed:
            raise InboxClosed()
        now = time.monotonic()
        if now - self._window_start >= RATE_WINDOW_S:
            self._arrival_rate = self._window_count / (now - self._window_start)
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        pending = _Pending(row, asyncio.get_running_loop().create_future())
        self._queue.put_nowait(pending)
        return await pending.done

    def close(self) -> None:
        """Refuse new callbacks; `run()` finishes what is queued and then returns."""
        self._closed = True
        self._queue.put_nowait(None)

    async def run(self) -> None:
        """The single writer loop: take what is waiting, write it in one transaction, resolve every waiter."""
        try:
            while True:
                first = await self._queue.get()
                if first is None:
                    return
                batch, stop = [first], False
                while len(batch) < self._max_rows and not self._queue.empty():
                    item = self._queue.get_nowait()
                    if item is None:
                        stop = True
                        break
                    batch.append(item)
                await self._write(batch)
                if stop:
                    return
        finally:
            self._closed = True
            self._fail_waiting()
            await self._disconnect()

    async def _insert(self, rows: list[NewInbound]) -> set[str]:
        """One autocommit INSERT on the writer's own connection, sent on the driver itself.

        A single statement in autocommit is its own transaction: it returns only once committed, with PostgreSQL's
        synchronous_commit and SQLite's synchronous=FULL as before, so an ack still follows the flush. What goes is
        the pool's per-checkout ping, BEGIN and COMMIT and SQLAlchemy's per-statement work
        (storage/repos/inbox_driver.py): one round trip (on SQLite one thread hop) per batch. A connection found
        dead (the database restarted) is replaced once, at once; the insert skips keys already stored, so
        repeating it after a commit whose answer was lost stores nothing twice.
        """
        for attempt in (1, 2):
            if self._connection is None:
                engine = self._sessions.kw["bind"]
                assert isinstance(engine, AsyncEngine)
                connection = await engine.connect()
                self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            try:
                return await insert_new_rows(self._connection, rows)
            except Exception as exc:
                lost = is_connection_lost(exc)
                await self._disconnect(invalidate=lost)
                if attempt == 2 or not lost:
                    raise
        raise AssertionError("unreachable")

    async def _disconnect(self, invalidate: bool = False) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                if invalidate:  # the pool must not hand the dead connection out again
                    await connection.invalidate()
                await connection.close()
            except Exception:  # already broken; the pool discards it
                log.debug("inbox writer connection close failed", exc_info=True)

    async def _write(self, batch: list[_Pending]) -> None:
        self._writing = True
        try:
            inserted = await self._insert([p.row for p in batch])
        except Exception as exc:
            # Each waiter answers 503 (the platform retries); the log gets a line per failure kind, not per batch.
            self.streak.failed(exc)
            for pending in batch:
                if not pending.done.done():
                    pending.done.set_exception(exc)
            return
        finally:
            self._writing = False
        for pending in batch:
            if not pending.done.done():
                pending.done.set_result(pending.row.dedupe_key in inserted)
                inserted.discard(pending.row.dedupe_key)  # a second copy in the same batch is a replay
        self._last_write = time.monotonic()
        self.streak.succeeded()
        self._on_commit(len(batch))

    def _fail_waiting(self) -> None:
        while not self._queue.empty():
            pending = self._queue.get_nowait()
            if pending is not None and not pending.done.done():
                pending.done.set_exception(InboxClosed())
