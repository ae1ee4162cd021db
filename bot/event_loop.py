"""Which asyncio event loop a long-running process (`qunke serve`, `qunke demo`) runs on: uvloop where installed.

uvloop is libuv under asyncio's interface: the same code, with the loop's own work per callback (transports,
scheduling, timers) in C. On the webhook it cut the event loop's CPU per callback by ~11 % (bench/RESULTS.md).
`server.event_loop: asyncio` keeps the standard loop (a platform without uvloop, or to rule it out).
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

T = TypeVar("T")
EventLoopChoice = Literal["auto", "uvloop", "asyncio"]


class EventLoopUnavailable(Exception):
    """`server.event_loop: uvloop` on a machine where uvloop is not installed."""


def resolve(choice: EventLoopChoice) -> Literal["uvloop", "asyncio"]:
    """The loop `choice` means here: `auto` is uvloop when it is installed, asyncio otherwise."""
    installed = importlib.util.find_spec("uvloop") is not None
    if choice == "uvloop" and not installed:
        raise EventLoopUnavailable(
            "server.event_loop is uvloop, but uvloop is not installed: pip install uvloop, "
            "or set server.event_loop: asyncio"
        )
    if choice == "auto":
        return "uvloop" if installed else "asyncio"
    return choice


def run(main: Coroutine[Any, Any, T], choice: EventLoopChoice) -> T:
    """`asyncio.run(main)` on the chosen loop."""
    if resolve(choice) == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)


def running_loop_name() -> str:
    """ "uvloop" or "asyncio": what the current process runs on, for /healthz."""
    return "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio"
