"""Hand glibc's freed heap pages back to the system every few seconds (`malloc_trim`), so a process's resident size
follows what it holds, not the most it ever held: under load the bots' freed-but-kept heap grew ~1.5 MiB a minute."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from bot.memory_metrics import glibc_function
from bot.metrics import Metrics
from bot.runtime import CORE

log = logging.getLogger(__name__)
_PAGE = os.sysconf("SC_PAGE_SIZE")


def find_malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None on another libc (musl, macOS): trimming is then off, with one log line."""
    call = glibc_function("malloc_trim")
    if call is not None:
        call.restype, call.argtypes = ctypes.c_int, [ctypes.c_size_t]
    return call


def resident_bytes() -> int:
    """This process's resident size from /proc (0 where there is no /proc)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


class MallocTrimmer:
    def __init__(self, trim: Callable[[int], int], metrics: Metrics) -> None:
        self._trim, self._metrics = trim, metrics

    async def trim_once(self) -> int:
        """One trim, in a thread (ctypes lets go of the GIL, the loop runs on); the bytes it gave back, about."""
        before = resident_bytes()
        await asyncio.to_thread(self._trim, 0)
        released = max(0, before - resident_bytes())
        self._metrics.malloc_trims.inc()
        self._metrics.malloc_trim_released.inc(released)
        return released

    async def run(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            await self.trim_once()


def setup_memory_trim(app: web.Application) -> None:
    """Every process trims on its own; `server.malloc_trim_interval_s: 0` turns it off."""

    async def trimming(app: web.Application) -> AsyncIterator[None]:
        core = app[CORE]
        interval_s = core.settings.server.malloc_trim_interval_s
        trim = find_malloc_trim() if interval_s > 0 else None
        if trim is not None:
            core.tasks.spawn(MallocTrimmer(trim, core.metrics).run(interval_s), "malloc-trim")
        elif interval_s > 0:
            log.info("malloc_trim is not available (not glibc): freed heap memory is returned as the allocator does")
        yield

    app.cleanup_ctx.append(trimming)
