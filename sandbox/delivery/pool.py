"""The HTTP session and tracked tasks behind a callback sender: start, spawn one task per delivery, drain on close."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, Final

import aiohttp

logger = logging.getLogger(__name__)

# Callback deadlines are asyncio.timeout's (exact); aiohttp's own would round 5 s up to the next whole second.
NO_CLIENT_TIMEOUT: Final = aiohttp.ClientTimeout(total=None, sock_connect=None, sock_read=None)


class DeliveryPool:
    def __init__(self, what: str) -> None:
        self._what = what  # for errors and log lines: "callback", "OA callback"
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._accepting = False

    @property
    def pending(self) -> int:
        """Deliveries not yet finished: held back, in flight, waiting to retry or to be duplicated."""
        return len(self._tasks)

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            raise RuntimeError(f"the {self._what} sender is not running")
        return self._session

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        self._accepting = True

    def spawn(self, delivery: Coroutine[Any, Any, None], name: str) -> None:
        if not self._accepting:
            delivery.close()
            raise RuntimeError(f"the {self._what} sender is not running")
        task = asyncio.create_task(delivery, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def check_accepting(self) -> None:
        if not self._accepting:
            raise RuntimeError(f"the {self._what} sender is not running")

    async def close(self, drain_s: float) -> None:
        """Let deliveries finish for up to drain_s seconds, cancel the rest (logged as gave_up), close HTTP."""
        self._accepting = False
        if self._tasks:
            _, unfinished = await asyncio.wait(set(self._tasks), timeout=drain_s)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        # Retrieve the outcome here so a bug surfaces in the log, not as "exception was never retrieved".
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("%s task %s crashed", self._what, task.get_name(), exc_info=error)
