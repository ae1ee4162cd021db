"""Read-ahead for a paged source: while the caller stores page N, page N+1 is already being fetched and decrypted.

The archive's RSA unwraps run on a thread pool and the store runs on the event loop; one after the other, a pull
uses one core at a time. Reading the next page in the background while the current one is stored overlaps them.
A page read ahead is used only when the caller asks for exactly that position (under its cursor lock), so a
cursor that moved meanwhile (an archive reset, another process) gets a fresh read; the archive only grows, so a
page read a moment early is still right, at worst shorter.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

log = logging.getLogger("qunke.archive")

T = TypeVar("T")


class ReadAhead(Generic[T]):
    """`read(pos)` returns the page at `pos`; when `after(pos, page)` names a next position (the page was full),
    that page starts reading at once, for the next call."""

    def __init__(self, read: Callable[[int], Coroutine[Any, Any, T]], after: Callable[[int, T], int | None]) -> None:
        self._read, self._after = read, after
        self._next: tuple[int, asyncio.Task[T]] | None = None

    async def read(self, pos: int) -> T:
        page = await self._take(pos)
        following = self._after(pos, page)
        if following is not None:
            task = asyncio.create_task(self._read(following), name=f"read-ahead-{following}")
            task.add_done_callback(_retrieved)  # a failure is re-raised to whoever takes the page, or dropped with it
            self._next = (following, task)
        return page

    async def _take(self, pos: int) -> T:
        ahead, self._next = self._next, None
        if ahead is None:
            return await self._read(pos)
        at, task = ahead
        if at != pos:
            task.cancel()
            return await self._read(pos)
        try:
            return await task
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # read again in the caller's own unit of work: its failure handling applies
            log.info("reading ahead from %d failed (%s: %s); reading it again", pos, type(exc).__name__, exc)
            return await self._read(pos)

    def close(self) -> None:
        """Stop a read in flight (the puller is shutting down)."""
        if self._next is not None:
            self._next[1].cancel()
            self._next = None


def _retrieved(task: asyncio.Task[T]) -> None:
    if not task.cancelled():
        task.exception()
