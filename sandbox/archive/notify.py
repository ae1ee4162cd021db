"""msgaudit_notify: pushed when new archived messages exist, at most once per interval (WECOM.md §2c, [D:95039])."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Final

from sandbox.clock import Clock
from sandbox.events import CallbackEvent

NOTIFY_EVENT: Final = "msgaudit_notify"
# The sandbox clock may be a FixedClock that never moves by itself; re-check at least this often anyway.
IDLE_RECHECK_S: Final = 60.0


def notify_event(now: int, agent_id: int) -> CallbackEvent:
    # The sample carries FromUserName "sys" and AgentID inside the plaintext, and no ChangeType.
    return CallbackEvent(NOTIFY_EVENT, "", now, (("AgentID", agent_id),), may_lag=False, app_callback=True)


class ArchiveNotifier:
    """Coalesces: the first new message after a quiet interval notifies at once; later ones wait for the interval.

    Decisions are made synchronously (on a new message and on a clock advance), so what is sent does not depend
    on task scheduling; a background task only covers real time passing.
    """

    def __init__(self, clock: Clock, interval_s: float, agent_id: int, submit: Callable[[CallbackEvent], str]) -> None:
        self._clock = clock
        self._interval_s = interval_s
        self._agent_id = agent_id
        self._submit = submit
        self._pending = False
        self._last_sent: float | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    def note_new(self) -> list[str]:
        """A message was archived; returns the delivery id when a notify went out now."""
        self._pending = True
        return self.flush()

    def flush(self) -> list[str]:
        """Send the pending notify if the interval has passed; wakes the timer to re-plan."""
        self._wake.set()
        if not self._pending or self._seconds_left() > 0:
            return []
        self._pending = False
        self._last_sent = self._clock.now().timestamp()
        self.sent += 1
        return [self._submit(notify_event(self._clock.epoch(), self._agent_id))]

    def _seconds_left(self) -> float:
        if self._last_sent is None:
            return 0.0
        return self._last_sent + self._interval_s - self._clock.now().timestamp()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sandbox-archive-notify")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            wait_s = min(max(self._seconds_left(), 0.0), IDLE_RECHECK_S) if self._pending else IDLE_RECHECK_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait_s)
            self.flush()
