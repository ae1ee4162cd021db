"""The start-up import (every contact, a re-read of every group) run once by the process leading the "import" duty:
a follower waits, and takes it over if the leader dies before finishing; one that starts after an import finished
does not repeat it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.leader import Leadership
from services.clock import Clock
from storage.repos import cursors

log = logging.getLogger("qunke.sync")

DONE_MARK: Final = "duty:import:done"  # when the last start-up import finished, in the database's own time
POLL_S: Final = 1.0


async def import_when_leading(
    leadership: Leadership,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    steps: Sequence[Callable[[], Awaitable[None]]],
    stop: asyncio.Event,
) -> None:
    """Wait for the lead, then run the steps (each retries by itself until done or stopped) unless an import
    finished after this process started. Times are the database's, so a skewed clock here changes nothing."""
    started = await _database_now(sessions) if leadership.shared else None
    while not leadership.is_leader:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), POLL_S)
        if stop.is_set():
            return
    if started is not None and await _finished_since(sessions, started):
        log.info("start-up import skipped: the process that led it finished one after this one started")
        return
    await asyncio.gather(*(step() for step in steps))
    if stop.is_set() or not leadership.shared:
        return
    try:
        async with sessions() as session, session.begin():
            finished = await _database_now(sessions)
            await cursors.save(session, DONE_MARK, finished.isoformat() if finished else "", clock.now())
    except Exception as exc:  # a follower taking over later only repeats an idempotent import
        log.warning("could not record the finished start-up import (%s)", exc)


async def _database_now(sessions: async_sessionmaker[AsyncSession]) -> datetime | None:
    try:
        async with sessions() as session:
            value = await session.scalar(text("SELECT CURRENT_TIMESTAMP"))
    except Exception as exc:  # unknown: the import then runs, which is always safe
        log.warning("could not read the database's time (%s)", exc)
        return None
    return value if isinstance(value, datetime) else None


async def _finished_since(sessions: async_sessionmaker[AsyncSession], started: datetime) -> bool:
    try:
        async with sessions() as session:
            mark = await cursors.read(session, DONE_MARK)
        return bool(mark) and datetime.fromisoformat(mark) >= started
    except Exception as exc:
        log.warning("could not read whether a start-up import finished (%s); importing", exc)
        return False
