"""Injected time: wall-clock time plus an offset that tests and the admin API move forward."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time as an aware UTC datetime."""
        ...

    def epoch(self) -> int:
        """The current time as whole Unix seconds, the unit of WeCom's CreateTime and timestamps."""
        ...

    def advance(self, seconds: float) -> None:
        """Move time forward; sandbox time never runs backwards."""
        ...


class OffsetClock:
    """Real time shifted by a manual offset, so token expiry can be reached without waiting."""

    def __init__(self) -> None:
        self._offset = 0.0

    def _seconds(self) -> float:
        return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._seconds(), tz=UTC)

    def epoch(self) -> int:
        return int(self._seconds())

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._offset += seconds

    @property
    def offset(self) -> float:
        """How far the clock was moved ahead; persisted, so a restart does not move sandbox time backwards."""
        return self._offset


class FixedClock:
    """Time that moves only when told to: for tests that need exact CreateTime values."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._seconds = start.timestamp()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._seconds, tz=UTC)

    def epoch(self) -> int:
        return int(self._seconds)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._seconds += seconds
