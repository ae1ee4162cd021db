"""One kf pull per account at a time, and triggers that queued behind a pull served by the next one together.

Every kf_msg_or_event callback asks for a pull, and all its pull needs is one that starts after the callback
arrived: kf/sync_msg reads everything after the stored cursor, whichever callback's token it carries. Under load
tens of callbacks a second queue behind the running pull; pulled one after another, each re-reads an almost empty
page and holds an ingest claim loop the whole time (the 200/s load test: six of a process's eight loops waited on
this lock, 3.3 s per trigger). Here a trigger that finds a pull running waits for the lock; if a pull that began
after it arrived has succeeded meanwhile, it is done without pulling again. A failed pull covers nobody: the next
waiter pulls itself, and raises as before if that fails too."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class PullTurns:
    """The turns of one account's pulls in this process (PostgreSQL's cursor row lock covers other processes)."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    begun: int = 0  # pulls begun so far
    last_ok: int = 0  # the number of the last pull that succeeded
    covered: int = 0  # triggers answered by another's pull, for tests and the log

    async def take(self, pull: Callable[[], Awaitable[int]]) -> int:
        """Run `pull`, unless a pull that began after this call has succeeded by the time the lock is ours;
        returns the items this call's own pull read (0 when covered)."""
        arrived = self.begun
        async with self.lock:
            if self.last_ok > arrived:
                self.covered += 1
                return 0
            self.begun += 1
            number = self.begun
            read = await pull()
            self.last_ok = number
            return read
