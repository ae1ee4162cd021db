"""message/send budgets (WECOM.md §3.1): per app and member 30/min and 1,000/h, per app (account cap × 200) a day."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from sandbox.cn_time import day_key
from sandbox.qyapi.windows import SlidingCounter
from sandbox.wire import Json

MEMBER_PER_MIN: Final = 30
MEMBER_PER_HOUR: Final = 1000
PERSON_TIMES_PER_ACCOUNT: Final = 200


@dataclass(slots=True)
class MemberUsage:
    minute: SlidingCounter = field(default_factory=lambda: SlidingCounter(60))
    hour: SlidingCounter = field(default_factory=lambda: SlidingCounter(3600))
    delivered: int = 0
    dropped: int = 0


class AppMessageQuota:
    """Decides, one recipient at a time, whether a message is delivered or silently dropped.

    Every attempt counts toward the windows, dropped ones included: WeCom says only that "the excess is dropped",
    and counting the excess is the stricter reading (a bot that keeps pushing stays over the limit). The daily
    budget counts person-times per natural day in China (UNCONFIRMED which zone; WeCom is a Beijing-time service).
    """

    def __init__(self, account_cap: int) -> None:
        self.daily_cap = account_cap * PERSON_TIMES_PER_ACCOUNT
        self._members: dict[str, MemberUsage] = {}
        self._day = ""
        self._today = 0
        self.dropped_today = 0

    def admit(self, userid: str, now: int) -> str | None:
        """Count one attempt to reach `userid`; None if it is delivered, else the reason it is dropped."""
        usage = self._members.setdefault(userid, MemberUsage())
        self._roll_day(now)
        reason = self._reason(usage, now)
        usage.minute.add(now)
        usage.hour.add(now)
        self._today += 1
        if reason is None:
            usage.delivered += 1
        else:
            usage.dropped += 1
            self.dropped_today += 1
        return reason

    def _reason(self, usage: MemberUsage, now: int) -> str | None:
        if self._today >= self.daily_cap:
            return "app_daily_cap"
        if usage.minute.count(now) >= MEMBER_PER_MIN:
            return "member_per_minute"
        if usage.hour.count(now) >= MEMBER_PER_HOUR:
            return "member_per_hour"
        return None

    def _roll_day(self, now: int) -> None:
        day = day_key(now)
        if day != self._day:
            self._day, self._today, self.dropped_today = day, 0, 0

    def snapshot(self, now: int) -> Json:
        self._roll_day(now)
        members = {
            userid: {
                "last_minute": usage.minute.count(now),
                "last_hour": usage.hour.count(now),
                "peak_minute": usage.minute.peak,
                "peak_hour": usage.hour.peak,
                "delivered": usage.delivered,
                "dropped": usage.dropped,
            }
            for userid, usage in sorted(self._members.items())
        }
        app: Json = {
            "day": self._day,
            "person_times_today": self._today,
            "daily_cap": self.daily_cap,
            "dropped_today": self.dropped_today,
        }
        return {"members": members, "app": app}
