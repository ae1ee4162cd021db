"""A puller run only by the process that leads its duty (bot/duties.py): on PostgreSQL a trigger becomes a mark in
the database (storage/repos/pull_wants.py) that the leader's loop serves at once (its own marks wake it) or within a
poll (a follower's), so no trigger is lost and no cursor is advanced by two processes; on SQLite the one process
pulls at once. Gaining the lead runs a catch-up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.failure_streak import FailureStreak
from bot.leader import Leadership
from services.clock import Clock
from storage.db_errors import explain
from storage.repos import pull_wants

log = logging.getLogger("qunke.duties")

WANT_POLL_S: Final = 0.5
MAX_BACKOFF_S: Final = 30.0

Pull = Callable[[str, str], Awaitable[int]]  # (target, token) -> items read


class PullDuty:
    def __init__(
        self,
        duty: str,
        leadership: Leadership,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        pull: Pull,
        *,
        on_gain: Callable[[], Awaitable[None]] | None = None,
        soft_errors: tuple[type[Exception], ...] = (),
        poll_s: float = WANT_POLL_S,
    ) -> None:
        self.duty, self._leadership, self._sessions, self._clock = duty, leadership, sessions, clock
        self._pull, self._on_gain, self._soft, self._poll_s = pull, on_gain, soft_errors, poll_s
        recovered = "working again (or led by another process now)"
        self.streak = FailureStreak(log, f"{duty} pull", recovered=recovered)
        self._wake = asyncio.Event()
        self._database_down = False

    async def trigger(self, target: str, token: str) -> None:
        """A callback asked for a pull. Raises (so the inbox retries the trigger) if the pull or the mark fails.

        On PostgreSQL every process marks, the leader too, and wakes its duty loop if it leads: the loop's one pull
        serves every trigger marked before it began. Pulled inline, each trigger held one of the ingest worker's
        claim loops while it queued behind the account's running pull (the 200/s load test: 6 of the leader's 8
        loops, 2.6-3.3 s per trigger), and processed nothing else meanwhile."""
        if not self._leadership.shared:  # SQLite: the one process pulls at once
            await self._pull(target, token)
            return
        async with self._sessions() as session, session.begin():
            await pull_wants.mark(session, self.duty, target, token, self._clock.now())
        if self._leadership.is_leader:
            self.wake()
        else:
            log.debug("%s pull of %r handed to the leader", self.duty, target)

    async def run(self, stop: asyncio.Event) -> None:
        """While leading: catch up once on gaining the lead, then serve every mark followers leave."""
        if not self._leadership.shared:  # SQLite: one process, it leads and no follower leaves marks
            if self._on_gain is not None:
                await self._on_gain()
            await stop.wait()
            return
        leading, failures = False, 0
        while not stop.is_set():
            self._wake.clear()
            if not self._leadership.is_leader:
                leading, failures = False, 0
                self.streak.succeeded()  # a failure while leading is not this follower's: /healthz must not 503
            else:
                if not leading and self._on_gain is not None:
                    await self._on_gain()  # logs its own failures; a catch-up must not keep the marks waiting
                leading = True
                failures = 0 if await self._serve_once() else failures + 1
            delay = min(MAX_BACKOFF_S, self._poll_s * 2**failures)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._first_of(stop), delay)

    async def _first_of(self, stop: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    def wake(self) -> None:
        self._wake.set()

    async def _serve_once(self) -> bool:
        """Pull for each mark, clearing those served; False after a failure (the mark stays for the next round)."""
        try:
            async with self._sessions() as session:
                wants = await pull_wants.pending(session, self.duty)
            for want in wants:
                if not self._leadership.is_leader:
                    return True  # lost the lead: the new leader serves what is left
                read = await self._pull(want.target, want.token)
                async with self._sessions() as session, session.begin():
                    await pull_wants.clear(session, self.duty, want)
                log.debug("%s pull of %r for marked callbacks: %d items read", self.duty, want.target, read)
            self.streak.succeeded()
            self._database_down = False
            return True
        except self._soft as exc:
            log.warning("%s pull for a follower's callback failed (%s); trying again shortly", self.duty, exc)
        except Exception as exc:
            database = explain(exc)
            if database is None:
                self.streak.failed(exc)
            elif not self._database_down:
                # The database is down: the ingest worker and /healthz already say so, and the lead goes with it.
                # One line here, no traceback; the marks wait in the database.
                log.warning("%s pull paused: %s; retrying with back-off", self.duty, database)
            self._database_down = database is not None
        return False
