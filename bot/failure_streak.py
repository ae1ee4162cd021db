"""A run of failures logged as a few lines, not one traceback per attempt: the start, a count now and then, the end.

A database outage used to write a full traceback (~8 KB) per failed inbox batch and per sender and ingest cycle,
about 400 MB an hour at 50 callbacks/s. A worker keeps one FailureStreak and reports every attempt to it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from storage.db_errors import explain

REPORT_EVERY_S: Final = 60.0
# A database going down often flaps (one success between refusals while it shuts down): a new streak a moment after
# the last one gets its line, but a traceback at most this often.
TRACEBACK_EVERY_S: Final = 600.0


class FailureStreak:
    """The first failure of a kind logs one ERROR line (the very first of a streak with its traceback); repeats
    are counted and summed up in one line every `report_every_s`; the first success after logs how long it lasted.
    It also remembers the last success, for /healthz."""

    def __init__(
        self,
        log: logging.Logger,
        what: str,
        *,
        recovered: str = "working again",
        report_every_s: float = REPORT_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log, self.what, self._recovered = log, what, recovered
        self._report_every_s, self._monotonic = report_every_s, monotonic
        self._counts: dict[str, int] = {}
        self._since = 0.0
        self._reported = 0.0
        self._traceback_at: float | None = None
        self._last_failure: float | None = None
        self.failing_since: datetime | None = None
        self.last_error: str | None = None
        self.last_success: datetime | None = None

    @property
    def failures(self) -> int:
        return sum(self._counts.values())

    def failed(self, exc: BaseException) -> None:
        kind = _kind_of(exc)
        self._last_failure = self._monotonic()
        self.last_error = (explain(exc) or f"{type(exc).__name__}: {exc}")[:300]
        now = self._monotonic()
        if not self._counts:
            self._since, self._reported, self.failing_since = now, now, datetime.now(UTC)
            # An exception made to describe a failure and never raised (the inbox writer's late callbacks) has no
            # traceback: logging one would only repeat its message.
            with_traceback = exc.__traceback__ is not None and (
                self._traceback_at is None or now - self._traceback_at >= TRACEBACK_EVERY_S
            )
            if with_traceback:
                self._traceback_at = now
            self._log.error(
                "%s failed: %s; retrying with back-off, repeats are counted, not logged",
                self.what,
                self.last_error,
                exc_info=exc if with_traceback else None,
            )
        elif kind not in self._counts:
            self._log.error("%s failed another way: %s", self.what, self.last_error)
        elif now - self._reported >= self._report_every_s:
            self._reported = now
            self._log.error("%s still failing after %s over %.0f s", self.what, self._tally(), now - self._since)
        self._counts[kind] = self._counts.get(kind, 0) + 1

    def succeeded(self) -> None:
        self.last_success = datetime.now(UTC)
        if not self._counts:
            return
        elapsed = self._monotonic() - self._since
        self._log.warning("%s: %s after %d failures over %.0f s", self.what, self._recovered, self.failures, elapsed)
        self._counts.clear()
        self.failing_since, self.last_error = None, None

    def failed_within(self, seconds: float) -> bool:
        """The streak is on and its latest failure is at most `seconds` old."""
        last = self._last_failure
        return bool(self._counts) and last is not None and self._monotonic() - last <= seconds

    def backoff_s(self, base_s: float, max_s: float) -> float:
        """How long to wait before the next attempt: doubling from `base_s` per failure in the streak, capped."""
        failures = self.failures
        return 0.0 if failures == 0 else min(max_s, base_s * 2 ** min(failures - 1, 30))

    def to_dict(self) -> dict[str, object]:
        return {
            "failing": bool(self._counts),
            "failures": self.failures,
            "failing_since": _iso(self.failing_since),
            "last_error": self.last_error,
            "last_progress": _iso(self.last_success),
        }

    def _tally(self) -> str:
        return ", ".join(f"{count}× {kind}" for kind, count in sorted(self._counts.items()))


def _kind_of(exc: BaseException) -> str:
    """The failure's kind for counting: the driver's own error type when SQLAlchemy wraps one."""
    orig = getattr(exc, "orig", None)
    return type(orig).__name__ if isinstance(orig, BaseException) else type(exc).__name__


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
