"""The archive source: from the saved seq, fetch ≤1000 items and decrypt them into platform-free events; ingest's
page loop stores them with the new seq in one transaction (bot/ingest/pulls.py). Driven by `msgaudit_notify` and
by a fallback timer."""

from __future__ import annotations

import asyncio
import os

from bot.channel_ports import PageRunner
from bot.channels.wecom.archive import (
    ArchiveKeys,
    ArchiveSource,
)
from bot.channels.wecom.archive_pages import READ_AHEAD_PAGES, ArchivePages
from bot.events import Event
from bot.metrics import Metrics


class ArchivePuller:
    """`pull()`: the chat archive from its saved seq, through ingest's page loop; one pull at a time."""

    def __init__(
        self,
        source: ArchiveSource,
        keys: ArchiveKeys,
        metrics: Metrics,
        pages: PageRunner,
        limit: int = 1000,
        decrypt_threads: int = 2,
        unwrap_processes: int | None = None,
        read_ahead: bool = True,
        read_ahead_pages: int = READ_AHEAD_PAGES,
        open_in_worker: bool = False,
    ) -> None:
        """`unwrap_processes`: None sizes the unwrap pool to the spare cores (at most `decrypt_threads`), 0 keeps
        every unwrap on the thread pool. `read_ahead=False` reads each page only when it is asked for; else up to
        `read_ahead_pages` pages are read ahead. `open_in_worker`: the unwrap process also decrypts and parses
        each item (the source's `worker_opener()`) instead of returning its key. Off: on a quiet 2-core machine the
        worker is then the slower half (bench/RESULTS.md, "which half opens an item")."""
        self._source, self._pages = source, pages
        if unwrap_processes is None:
            unwrap_processes = max(1, min(decrypt_threads, (os.cpu_count() or 1) - 1))
        self._archive_pages = ArchivePages(
            source,
            keys,
            metrics,
            limit,
            decrypt_threads,
            unwrap_processes,
            ahead_pages=read_ahead_pages,
            open_in_worker=open_in_worker,
        )
        self._archive_pages.read_ahead = read_ahead
        self._lock = asyncio.Lock()

    @property
    def source(self) -> ArchiveSource:
        return self._source

    async def __call__(self, event: Event) -> None:
        await self.pull()

    async def pull(self) -> int:
        """Read until the source has nothing newer; returns how many items were read. A notify and the timer may
        fire together: one pull at a time."""
        async with self._lock:
            return await self._pages.run(self._archive_pages)

    def start_unwrap_processes(self) -> None:
        """Start the RSA unwrap processes now rather than on the first backlog (the bench, before its clock)."""
        self._archive_pages.start_unwrap_processes()

    def close(self) -> None:
        self._archive_pages.close()
