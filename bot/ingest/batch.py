"""One claimed batch of inbox events in one transaction: what it has done, written in one go when it commits."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot import failpoints
from storage.repos import inbound

# On SQLite the batch's transaction holds the database's one write lock, which the webhook's inbox writer needs for
# every ack: a SQLite batch commits early when callbacks are waiting, and at least this often.
SQLITE_SLICE_S: Final = 0.2
# On PostgreSQL other loops and processes wait for the rows a batch has written until it commits: a batch ends after
# this long, and once it has work it waits at most LOCK_WAIT for a lock before committing what it has instead.
PG_BATCH_S: Final = 0.5
# SQLite while callbacks wait for the write lock: commit after this much work rather than after every event. Each
# commit is an fsync the acks queue behind; a slice bounds their extra wait at ~10 ms plus one event, and at the
# start of a burst let the worker clear a backlog in one or two commits instead of one per event (the webhook's
# callbacks/s rose ~15 % in bench/ingest.py).
SQLITE_ACK_SLICE_S: Final = 0.01
LOCK_WAIT: Final = "100ms"
# lock_not_available (lock_timeout ran out), deadlock_detected
_LOCK_CONFLICTS: Final = frozenset({"55P03", "40P01"})


def lock_conflict(exc: BaseException) -> bool:
    """The error is PostgreSQL giving up a lock wait (lock_timeout) or breaking a deadlock."""
    seen: BaseException | None = exc
    for _ in range(4):  # SQLAlchemy's DBAPIError → the adapter's error → asyncpg's
        if seen is None:
            return False
        code = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if code in _LOCK_CONFLICTS:
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


@dataclass(frozen=True, slots=True)
class Failure:
    event_id: int
    error: str
    retry_at: datetime | None


@dataclass
class _Work:
    done: list[int] = field(default_factory=list)
    unhandled: set[int] = field(default_factory=set)
    failures: list[Failure] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.done or self.failures)


class BatchTransaction:
    """The claiming transaction of a batch. Each event's writes are in a savepoint of it (the worker's); the done
    marks (one statement) and the failures are written just before the commit, so the batch's events are done
    together or, after a crash, all redone.

    On PostgreSQL it commits once, at the end: the claimed rows stay locked until then. On SQLite (one worker, no
    row locks) it commits in slices, whenever `due()` says so and before a pull, whose pages commit on their own
    connections and would wait for this transaction's write lock."""

    def __init__(self, session: AsyncSession, sqlite: bool, now: Callable[[], datetime]) -> None:
        self.session, self.sqlite, self._now = session, sqlite, now
        self._work = _Work()
        self._opened = time.monotonic()
        self._waits_briefly = False
        self.committed = _Work()  # everything committed so far, for the metrics

    async def open(self) -> None:
        if self.sqlite:
            await inbound.begin_sqlite_write(self.session)
        self._opened = time.monotonic()
        self._waits_briefly = False

    async def wait_briefly(self) -> None:
        """PostgreSQL, once the batch holds locks of its own: wait at most LOCK_WAIT for another's."""
        if not self._waits_briefly:
            await self.session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
            self._waits_briefly = True

    def done(self, event_id: int, handled: bool) -> None:
        self._work.done.append(event_id)
        if not handled:
            self._work.unhandled.add(event_id)

    def failed(self, failure: Failure) -> None:
        self._work.failures.append(failure)

    @property
    def has_work(self) -> bool:
        """Events were processed since the last commit."""
        return bool(self._work)

    def due(self, acks_pending: bool) -> bool:
        """The transaction has work and should commit: callbacks wait for SQLite's write lock and it has held it
        for a slice (SQLITE_ACK_SLICE_S), or it has run long enough (SQLITE_SLICE_S, PG_BATCH_S)."""
        if not self._work:
            return False
        held = time.monotonic() - self._opened
        if acks_pending and self.sqlite:
            return held >= SQLITE_ACK_SLICE_S
        return acks_pending or held >= (SQLITE_SLICE_S if self.sqlite else PG_BATCH_S)

    async def commit(self) -> None:
        work, self._work = self._work, _Work()
        now = self._now()
        if work:
            await inbound.mark_done_many(self.session, work.done, work.unhandled, now)
            for f in work.failures:
                await inbound.record_failure(self.session, f.event_id, f.error, f.retry_at, now)
            failpoints.hit("ingest.before_commit")  # crash tests: the batch is written but not committed
        await self.session.commit()
        self.committed.done += work.done
        self.committed.unhandled |= work.unhandled
        self.committed.failures += work.failures
