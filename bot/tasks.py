"""Tracked background tasks: every task the bot starts is kept, logged when it fails, and drained on shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class BackgroundTasks:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        if self._closing:
            coro.close()
            raise RuntimeError(f"cannot start {name}: shutting down")
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def close(self, grace_s: float = 10.0) -> None:
        """Cancel every task and wait for them to finish their cleanup."""
        self._closing = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace_s)
            for task in pending:
                log.error("background task %s did not stop within %.0f s", task.get_name(), grace_s)

    def __len__(self) -> int:
        return len(self._tasks)


async def drain(task: asyncio.Task[None], name: str, grace_s: float = 10) -> None:
    """Let a loop that was told to stop finish its current work; give up (it is cancelled later) after grace_s."""
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=grace_s)
    except TimeoutError:
        log.error("%s did not finish within %.0f s; cancelling it", name, grace_s)
