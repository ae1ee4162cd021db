"""Sliding-window counters for WeCom's per-minute and per-hour limits, on the sandbox clock."""

from __future__ import annotations

from collections import deque


class SlidingCounter:
    """Events in the last `window_s` seconds, bucketed per clock second.

    WeCom does not say whether its windows slide or are fixed; a sliding window is the stricter reading (a burst
    across a minute boundary is still one minute's worth), so the sandbox slides. An event at second t counts
    until second t + window_s. The highest count ever reached is kept so tests can assert a limit never was.
    """

    def __init__(self, window_s: int) -> None:
        self.window_s = window_s
        self._buckets: deque[list[int]] = deque()
        self._total = 0
        self.peak = 0

    def _expire(self, now: int) -> None:
        while self._buckets and self._buckets[0][0] <= now - self.window_s:
            self._total -= self._buckets.popleft()[1]

    def count(self, now: int) -> int:
        self._expire(now)
        return self._total

    def add(self, now: int) -> int:
        """Count one event at `now` and return the count in the window including it."""
        self._expire(now)
        if self._buckets and self._buckets[-1][0] == now:
            self._buckets[-1][1] += 1
        else:
            self._buckets.append([now, 1])
        self._total += 1
        self.peak = max(self.peak, self._total)
        return self._total
