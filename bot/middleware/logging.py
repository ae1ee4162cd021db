"""Outer middleware: one log line per event with its type, outcome and time taken."""

from __future__ import annotations

import logging
import time

from bot.dispatch import Context, Next
from bot.events import Event

log = logging.getLogger("qunke.dispatch")


class LogTiming:
    async def __call__(self, handler: Next, event: Event, ctx: Context) -> bool:
        started = time.perf_counter()
        outcome = "error"
        try:
            handled = await handler(event, ctx)
            outcome = "handled" if handled else "unhandled"
            return handled
        finally:
            log.info(
                "event %s %s in %.1f ms (%s)",
                type(event).__name__,
                outcome,
                (time.perf_counter() - started) * 1000,
                event.source_key,
            )
