"""The web console (DESIGN.md §12): `setup_console(app, ...)` mounts it under /console on the bot's app."""

from __future__ import annotations

from console.deps import ConsoleConfig
from console.setup import setup_console

__all__ = ["ConsoleConfig", "setup_console"]
