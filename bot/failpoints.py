"""Failpoints for crash tests: QUNKE_FAILPOINTS=name[@N][,...] makes the process die hard at those points.

`name` dies at the first hit, `name@N` at the Nth (e.g. `kf.before_commit@2`: the second page of a pull dies
before its commit, after the first page committed). Unset in production.
"""

from __future__ import annotations

import functools
import logging
import os
from collections import Counter
from typing import Final

log = logging.getLogger(__name__)

EXIT_CODE: Final = 86
_hits: Counter[str] = Counter()


@functools.cache
def _active() -> dict[str, int]:
    armed: dict[str, int] = {}
    for spec in os.environ.get("QUNKE_FAILPOINTS", "").split(","):
        name, _, nth = spec.strip().partition("@")
        if name:
            armed[name] = int(nth) if nth.isdigit() else 1
    return armed


def hit(name: str) -> None:
    """Exit immediately, as a crash would (no cleanup, no flush), when the failpoint `name` is armed."""
    armed = _active()
    if name not in armed:
        return
    _hits[name] += 1
    if _hits[name] >= armed[name]:
        log.critical("failpoint %s (hit %d): exiting as if the process crashed", name, _hits[name])
        os._exit(EXIT_CODE)
