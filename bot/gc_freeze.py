"""Once started, put the start-up heap out of the cyclic GC's reach (`gc.freeze`): full collections stop rescanning it.

Start-up builds a large, long-lived heap (the FAQ index, the tokenizer's and pinyin dictionaries, SQLAlchemy's
metadata): ~380 k tracked objects. Every full collection walked all of it, a pause of ~110 ms on the event loop
(0.2 ms once frozen), about once per few thousand callbacks: ~20 µs per callback of the webhook's CPU
(bench/RESULTS.md). Frozen objects are still freed when nothing refers to them; only garbage cycles among them
would stay, and start-up structures are kept for the life of the process anyway.
"""

from __future__ import annotations

import gc
import logging
import time

from aiohttp import web

log = logging.getLogger(__name__)


def setup_gc_freeze(app: web.Application) -> None:
    """Call last in `create_app`: aiohttp runs on_startup after every earlier step's start-up, and on_cleanup
    after every step has stopped."""

    async def freeze(_app: web.Application) -> None:
        started = time.perf_counter()
        gc.collect()  # start-up's own garbage goes first, so none of it is frozen for good
        gc.freeze()
        log.info(
            "start-up heap frozen for the garbage collector: %d objects (%.0f ms)",
            gc.get_freeze_count(),
            (time.perf_counter() - started) * 1e3,
        )

    async def thaw(_app: web.Application) -> None:
        # Stopped: what this app held becomes collectable again (a test process starts and stops many apps).
        gc.unfreeze()

    app.on_startup.append(freeze)
    app.on_cleanup.append(thaw)
