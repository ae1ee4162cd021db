"""WeCom's base limits per corp and API (WECOM.md §3.1): calls per minute and hour (45009), parallel reads (45033)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from sandbox.qyapi.windows import SlidingCounter
from sandbox.wire import Json

MINUTE: Final = 60
HOUR: Final = 3600
# "Message sends do not count toward the base limits" [D:90454]: message/send has its own per-member and daily
# budgets (member_quota.py) and is never answered 45009 for the per-corp counts, though its calls are shown.
EXEMPT_APIS: Final = frozenset({"/cgi-bin/message/send"})
# 45033 is "seen when reading stored data such as customer lists in parallel": an API whose last path segment is
# a get/list/sync word (user/get, groupchat/list, get_groupmsg_task, batch/get_by_user, kf/sync_msg…) is a read.
_READ_SEGMENT: Final = re.compile(r"(^|_)(get|list|sync)(_|$)")


def is_read_api(path: str) -> bool:
    return bool(_READ_SEGMENT.search(path.rstrip("/").rsplit("/", 1)[-1]))


@dataclass(frozen=True, slots=True)
class Refusal:
    errcode: int
    reason: str


@dataclass(slots=True)
class ApiUsage:
    minute: SlidingCounter = field(default_factory=lambda: SlidingCounter(MINUTE))
    hour: SlidingCounter = field(default_factory=lambda: SlidingCounter(HOUR))
    calls: int = 0
    blocked_until: int = 0
    rejected_45009: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    rejected_45033: int = 0


class ApiLimiter:
    """Counts every accepted /cgi-bin/ call per API path on the sandbox clock.

    Once a limit is hit the API stays blocked for the whole period of that limit ("频率拦截时长一般与调用的限制
    时长相同": a per-minute limit blocks for one minute, a per-hour one for an hour, [D:90313] on 45009), measured
    from the refused call. Refused calls do not count toward the windows (UNCONFIRMED; they never ran).
    """

    def __init__(self, per_min: int, per_hour: int, read_concurrency: int) -> None:
        self.per_min = per_min
        self.per_hour = per_hour
        self.read_concurrency = read_concurrency
        self._usage: dict[str, ApiUsage] = {}

    def enter(self, api: str, now: int) -> Refusal | None:
        """Admit one call (it is then in flight until `leave`), or say why it is refused."""
        usage = self._usage.setdefault(api, ApiUsage())
        refusal = self._frequency(api, usage, now) or self._concurrency(api, usage)
        if refusal is not None:
            return refusal
        usage.calls += 1
        usage.minute.add(now)
        usage.hour.add(now)
        usage.in_flight += 1
        usage.peak_in_flight = max(usage.peak_in_flight, usage.in_flight)
        return None

    def leave(self, api: str) -> None:
        self._usage[api].in_flight -= 1

    def _frequency(self, api: str, usage: ApiUsage, now: int) -> Refusal | None:
        if api in EXEMPT_APIS:
            return None
        if now < usage.blocked_until:
            reason = "blocked"
        elif usage.minute.count(now) >= self.per_min:
            usage.blocked_until, reason = now + MINUTE, "per_minute"
        elif usage.hour.count(now) >= self.per_hour:
            usage.blocked_until, reason = now + HOUR, "per_hour"
        else:
            return None
        usage.rejected_45009 += 1
        return Refusal(45009, reason)

    def _concurrency(self, api: str, usage: ApiUsage) -> Refusal | None:
        if not is_read_api(api) or usage.in_flight < self.read_concurrency:
            return None
        usage.rejected_45033 += 1
        return Refusal(45033, "concurrent_reads")

    def snapshot(self, now: int) -> Json:
        return {api: self._usage_json(api, usage, now) for api, usage in sorted(self._usage.items())}

    def _usage_json(self, api: str, usage: ApiUsage, now: int) -> Json:
        return {
            "calls": usage.calls,
            "last_minute": usage.minute.count(now),
            "last_hour": usage.hour.count(now),
            "peak_minute": usage.minute.peak,
            "peak_hour": usage.hour.peak,
            "rejected_45009": usage.rejected_45009,
            "blocked_until": usage.blocked_until if usage.blocked_until > now else None,
            "read": is_read_api(api),
            "exempt": api in EXEMPT_APIS,
            "in_flight": usage.in_flight,
            "peak_in_flight": usage.peak_in_flight,
            "rejected_45033": usage.rejected_45033,
        }
