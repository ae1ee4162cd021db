"""Read-ahead for a paged source: while the caller stores page N, pages N+1 (and N+2, up to `depth`) are already
being fetched and decrypted.

The archive's unwraps run in a worker process and the store runs on the event loop; one after the other, a pull
uses one core at a time. Reading the next pages in the background while the current one is stored overlaps them;
two pages ahead let the worker go on while the loop is still busy with a page that took longer than usual (with one,
each half waits for the other whenever its page is the slower one). Each page ahead is started once the one before
it is read (its last item names where the next starts). A page read ahead is used only when the caller asks for
exactly that position (under its cursor lock), so a cursor that moved meanwhile (an archive reset, another process)
drops every page ahead and reads afresh; the archive only grows, so a page read a moment early is still right, at
worst shorter.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

log = logging.getLogger("qunke.archive")

T = TypeVar("T")


class ReadAhead(Generic[T]):
    """`read(pos)` returns the page at `pos`; when `after(pos, page)` names a next position (the page was full),
    that page starts reading at once, for a later call, and so on up to `depth` pages ahead."""

    def __init__(
        self, read: Callable[[int], Coroutine[Any, Any, T]], after: Callable[[int, T], int | None], depth: int = 1
    ) -> None:
        self._read, self._after, self._depth = read, after, max(1, depth)
        self._ahead: deque[tuple[int, asyncio.Task[T]]] = deque()

    @property
    def positions(self) -> list[int]:
        """The positions being read (or read) ahead, in order."""
        return [pos for pos, _ in self._ahead]

    async def read(self, pos: int) -> T:
        page = await self._take(pos)
        if self._ahead:  # the last page ahead may have finished while the queue was full: continue from it
            last_pos, last = self._ahead[-1]
            if last.done():
                self._chain(last_pos, last)
        else:
            self._start_after(pos, page)
        return page

    async def _take(self, pos: int) -> T:
        if not self._ahead:
            return await self._read(pos)
        at, task = self._ahead.popleft()
        if at != pos:
            task.cancel()
            self.close()
            return await self._read(pos)
        try:
            return await task
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # read again in the caller's own unit of work: its failure handling applies
            log.info("reading ahead from %d failed (%s: %s); reading it again", pos, type(exc).__name__, exc)
            self.close()  # nothing was chained after a failed page, but be sure
            return await self._read(pos)

    def _start_after(self, pos: int, page: T) -> None:
        following = self._after(pos, page)
        if following is not None:
            task = asyncio.create_task(self._read(following), name=f"read-ahead-{following}")
            self._ahead.append((following, task))
            task.add_done_callback(functools.partial(self._chain, following))

    def _chain(self, pos: int, task: asyncio.Task[T]) -> None:
        """A page ahead finished: start the one after it while fewer than `depth` are ahead. A failure is re-raised
        to whoever takes the page (or dropped with it), and nothing is chained after it."""
        if task.cancelled() or task.exception() is not None:
            return
        if not self._ahead or self._ahead[-1][1] is not task or len(self._ahead) >= self._depth:
            return  # no longer the last page ahead (taken or dropped), or the queue is full
        self._start_after(pos, task.result())

    def close(self) -> None:
        """Stop the reads in flight (the puller is shutting down, or the cursor moved)."""
        while self._ahead:
            self._ahead.popleft()[1].cancel()
