"""Who leads a duty (the scheduled jobs, a puller, the start-up import) when several `qunke serve` share one
PostgreSQL: the process holding a session-level advisory lock on a dedicated connection, one key per duty. A holder
that dies drops its connection and so its lock; a follower retrying every few seconds takes over. No clock is read:
a process whose clock is skewed cannot steal a lock its holder still holds. On SQLite (one process by design) this
process always leads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

SCHEDULER_LOCK: Final = 0x51_4B_53_43  # "QKSC": one key for the scheduler's leader
# One key per duty, so the pullers may lead on another process than the scheduler (and spread the load).
DUTY_KEYS: Final = {
    "scheduler": SCHEDULER_LOCK,
    "kf": 0x51_4B_4B_46,  # "QKKF": the kf puller (kf/sync_msg cursors)
    "archive": 0x51_4B_41_52,  # "QKAR": the chat-archive puller (its seq)
    "import": 0x51_4B_49_4D,  # "QKIM": the start-up contact import and group sync
}
RETRY_S: Final = 2.0


def process_identity() -> str:
    """host:pid, as /healthz shows it and as this process's PostgreSQL connections name themselves."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Leadership:
    def __init__(
        self, engine: AsyncEngine, key: int = SCHEDULER_LOCK, retry_s: float = RETRY_S, duty: str = "scheduler"
    ) -> None:
        self._engine = engine
        self.key, self.duty = key, duty
        self._retry_s = retry_s
        self._conn: AsyncConnection | None = None
        self._stop = asyncio.Event()
        self.shared = engine.dialect.name == "postgresql"
        self.is_leader = not self.shared
        self.identity = process_identity()

    async def run(self) -> None:
        """Hold the lock, or keep trying for it, until stopped; checks the held connection every `retry_s`."""
        if not self.shared:
            return
        try:
            while not self._stop.is_set():
                await self._check()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self._retry_s)
        finally:
            await asyncio.shield(self._drop())  # stopping (or cancelled) hands the lead over at once

    async def _check(self) -> None:
        try:
            if self._conn is None:
                await self._try_acquire()
            else:
                await self._conn.execute(text("SELECT 1"))
        except Exception as exc:  # the connection broke: whatever we held is gone with it
            if self.is_leader:
                log.warning("lost the %s lead (%s: %s); trying to take it again", self.duty, type(exc).__name__, exc)
            await self._drop()

    async def _try_acquire(self) -> None:
        conn = await self._engine.connect()
        try:
            # Autocommit: the lock belongs to the session, and an idle transaction would hold back vacuum.
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}))
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            return
        self._conn, self.is_leader = conn, True
        log.info("this process (%s) now leads %s", self.identity, self.duty)

    async def _drop(self) -> None:
        self.is_leader = False
        conn, self._conn = self._conn, None
        if conn is not None:
            # Invalidate, not close: a pooled connection would keep the session's lock alive for its next user.
            with contextlib.suppress(Exception):
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            with contextlib.suppress(Exception):
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()

    def stop(self) -> None:
        self._stop.set()
