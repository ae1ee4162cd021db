"""Failpoints for crash tests: QUNKE_FAILPOINTS=name[,name...] makes the process die hard at those points."""

from __future__ import annotations

import functools
import logging
import os
from typing import Final

log = logging.getLogger(__name__)

EXIT_CODE: Final = 86


@functools.cache
def _active() -> frozenset[str]:
    return frozenset(name.strip() for name in os.environ.get("QUNKE_FAILPOINTS", "").split(",") if name.strip())


def hit(name: str) -> None:
    """Exit immediately, as a crash would (no cleanup, no flush), when the failpoint `name` is armed."""
    if name in _active():
        log.critical("failpoint %s: exiting as if the process crashed", name)
        os._exit(EXIT_CODE)
