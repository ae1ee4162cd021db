"""Group-committed inbox writes: callbacks arriving together share one transaction, each waits for its commit.

A callback waits at most `ack_timeout_s` for its commit, less than the platforms wait for an answer (WeCom and
the OA wait 5 s, WECOM.md §1), then gets a 503 and is retried: a database that hangs instead of failing must not
hold requests open without bound while the platform gives up on them anyway. Its row stays queued and is still
written when the database answers (the platform gives up after a few retries, and the late row may be the only
copy; a retry that finds it stored is acked as a duplicate), up to MAX_QUEUED_CALLBACKS rows: past that the
oldest late rows are dropped, having been answered 503.

`InboxClosed` and `InboxSlow` live in bot/channel_ports.py (the webhooks catch them without importing ingest);
re-exported here."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot.channel_ports import InboxClosed, InboxSlow
from bot.failure_streak import FailureStreak
from storage.db_errors import is_connection_lost
from storage.repos.inbound import NewInbound
from storage.repos.inbox_driver import insert_new_rows

__all__ = ["DEFAULT_ACK_TIMEOUT_S", "InboxClosed", "InboxSlow", "InboxWriter"]

log = logging.getLogger(__name__)

# A closed-loop burst keeps few callbacks queued (each sender waits for its ack), so a queue alone does not show
# that acks saturate the loop; their arrival rate does. One process sees ~100/s in bench/load_test.py's 200/s
# over two, and acks ~5,000/s flat out (bench/ingest.py).
RUSH_PER_S: Final = 1000.0
RATE_WINDOW_S: Final = 0.05
PILE_UP_CALLBACKS: Final = 32
DEFAULT_ACK_TIMEOUT_S: Final = 3.0
MAX_QUEUED_CALLBACKS: Final = 10_000  # ~1-2 KB each: the memory a hung database may cost
# A PostgreSQL insert unanswered this long is cancelled and its connection replaced: a half-open connection (the
# server's host gone without a reset, a failover) would otherwise hold the writer until TCP gives up (~15 min).
WRITE_TIMEOUT_S: Final = 30.0
# How often waiters are checked against their deadline: a late callback is answered within this of its deadline.
EXPIRY_TICK_S: Final = 0.25


@dataclass(slots=True)
class _Pending:
    row: NewInbound
    done: asyncio.Future[bool]
    deadline: float  # time.monotonic() after which the waiter gets InboxSlow


class InboxWriter:
    """`store()` returns only after the row is committed (True if new, False if a replay)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        max_rows: int,
        on_commit: Callable[[int], None],
        ack_timeout_s: float = DEFAULT_ACK_TIMEOUT_S,
    ) -> None:
        if ack_timeout_s <= 0:
            raise ValueError(f"ack_timeout_s must be positive, got {ack_timeout_s}")
        self._sessions = sessions
        self._connection: AsyncConnection | None = None
        self._max_rows = max_rows
        self._on_commit = on_commit
        self._ack_timeout_s = ack_timeout_s
        # Arrival order is deadline order: the late ones are always at the left.
        self._queue: deque[_Pending] = deque()
        self._late = 0  # how many at the queue's left were answered InboxSlow already
        self._arrived = asyncio.Event()
        self._in_flight: list[_Pending] = []
        self._closed = False
        self._last_write = 0.0
        self._window_start, self._window_count, self._arrival_rate = time.monotonic(), 0, 0.0
        self.streak = FailureStreak(log, "inbox write", recovered="database reachable again")

    def busy(self, within_s: float = 0.02) -> bool:
        """Callbacks are waiting or being written (on SQLite, maybe waiting for the worker's write lock), or were
        written a moment ago: a burst is under way."""
        return bool(self._in_flight) or bool(self._queue) or time.monotonic() - self._last_write < within_s

    def backlogged(self) -> bool:
        """Callbacks arrived and wait behind a write in progress: acks are queueing, not merely flowing."""
        return bool(self._queue)

    def rushing(self) -> bool:
        """Callbacks arrive far faster than a steady day brings them (RUSH_PER_S over the last window), or pile up
        behind the write in progress: the event loop is the acks' bottleneck, and processing should wait."""
        fresh = time.monotonic() - self._window_start < 2 * RATE_WINDOW_S
        return (fresh and self._arrival_rate >= RUSH_PER_S) or len(self._queue) >= PILE_UP_CALLBACKS

    async def store(self, row: NewInbound) -> bool:
        """True once committed as new, False for a replay; InboxSlow if not committed within ack_timeout_s."""
        if self._closed:
            raise InboxClosed()
        now = time.monotonic()
        if now - self._window_start >= RATE_WINDOW_S:
            self._arrival_rate = self._window_count / (now - self._window_start)
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        if len(self._queue) >= MAX_QUEUED_CALLBACKS:
            self._make_room()
        pending = _Pending(row, asyncio.get_running_loop().create_future(), now + self._ack_timeout_s)
        self._queue.append(pending)
        self._arrived.set()
        return await pending.done

    def close(self) -> None:
        """Refuse new callbacks; `run()` finishes what is queued and then returns."""
        self._closed = True
        self._arrived.set()

    async def run(self) -> None:
        """The single writer loop: take what is waiting, write it in one transaction, resolve every waiter."""
        expiry = asyncio.create_task(self._expire_late(), name="inbox-expiry")
        try:
            while True:
                if not self._queue:
                    if self._closed:
                        return
                    self._arrived.clear()
                    await self._arrived.wait()
                    continue
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), self._max_rows))]
                self._late = max(0, self._late - len(batch))
                await self._write(batch)
        finally:
            self._closed = True
            expiry.cancel()
            await asyncio.gather(expiry, return_exceptions=True)
            self._fail_waiting()
            await self._disconnect()

    async def _expire_late(self) -> None:
        """Answer InboxSlow to every callback past its deadline, being written or queued (its row stays queued)."""
        tick = min(EXPIRY_TICK_S, self._ack_timeout_s / 4)
        while True:
            await asyncio.sleep(tick)
            now, late = time.monotonic(), 0
            for pending in self._in_flight:
                if pending.deadline <= now and not pending.done.done():
                    pending.done.set_exception(InboxSlow())
                    late += 1
            while self._late < len(self._queue) and (pending := self._queue[self._late]).deadline <= now:
                if not pending.done.done():
                    pending.done.set_exception(InboxSlow())
                    late += 1
                self._late += 1
            if late:
                self.streak.failed(
                    InboxSlow(
                        f"{late} callbacks waited over {self._ack_timeout_s:g} s for their commit and were answered"
                        " 503 (the platform retries them; their rows are written when the database answers); the"
                        " database is slow or not answering"
                    )
                )

    def _make_room(self) -> None:
        """The queue is full (the database has not answered for a while): drop the oldest rows already answered
        503, which the platform retries, or refuse this callback the same way if none has been answered yet."""
        dropped = 0
        while self._late and len(self._queue) >= MAX_QUEUED_CALLBACKS:
            self._queue.popleft()
            self._late -= 1
            dropped += 1
        if dropped:
            self.streak.failed(
                InboxSlow(f"{MAX_QUEUED_CALLBACKS} callbacks queued: dropped the {dropped} oldest, answered 503")
            )
        if len(self._queue) >= MAX_QUEUED_CALLBACKS:
            raise InboxSlow(f"{MAX_QUEUED_CALLBACKS} callbacks queued")

    async def _insert(self, rows: list[NewInbound]) -> set[str]:
        """One autocommit INSERT on the writer's own connection, sent on the driver itself.

        A single statement in autocommit is its own transaction: it returns only once committed, with PostgreSQL's
        synchronous_commit and SQLite's synchronous=FULL as before, so an ack still follows the flush. What goes is
        the pool's per-checkout ping, BEGIN and COMMIT and SQLAlchemy's per-statement work
        (storage/repos/inbox_driver.py): one round trip (on SQLite one thread hop) per batch. A connection found
        dead (the database restarted) or silent for WRITE_TIMEOUT_S is replaced once, at once; the insert skips
        keys already stored, so repeating it after a commit whose answer was lost stores nothing twice.
        """
        for attempt in (1, 2):
            if self._connection is None:
                engine = self._sessions.kw["bind"]
                assert isinstance(engine, AsyncEngine)
                connection = await engine.connect()
                self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            try:
                return await insert_new_rows(self._connection, rows, WRITE_TIMEOUT_S)
            except TimeoutError:  # the driver has cancelled the statement; the connection may be half-open
                await self._disconnect(invalidate=True)
                continue
            except Exception as exc:
                lost = is_connection_lost(exc)
                await self._disconnect(invalidate=lost)
                if attempt == 2 or not lost:
                    raise
        # Raised outside the handler on purpose: storage.db_errors.explain would read a TimeoutError in its
        # context as a failed connect.
        raise InboxSlow(
            f"the database left an insert unanswered for {WRITE_TIMEOUT_S:g} s, twice (the second on a fresh "
            "connection)"
        )

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
        self._in_flight = batch
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
            self._in_flight = []
        for pending in batch:
            if not pending.done.done():
                pending.done.set_result(pending.row.dedupe_key in inserted)
                inserted.discard(pending.row.dedupe_key)  # a second copy in the same batch is a replay
        self._last_write = time.monotonic()
        self.streak.succeeded()
        self._on_commit(len(batch))

    def _fail_waiting(self) -> None:
        while self._queue:
            pending = self._queue.popleft()
            if not pending.done.done():
                pending.done.set_exception(InboxClosed())
