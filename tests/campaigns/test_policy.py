"""Campaign guards in time: quiet hours across midnight defer to their end; skip_holidays moves to the next workday,
including a make-up (调休) Saturday."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from campaigns.policy import CampaignPolicy
from services.service.calendar import BusinessCalendar, DayKind, DayOverride, WorkingHours

SH = ZoneInfo("Asia/Shanghai")


def _policy(*overrides: DayOverride) -> CampaignPolicy:
    return CampaignPolicy(zone="Asia/Shanghai", calendar=BusinessCalendar("Asia/Shanghai", WorkingHours(), overrides))


def _local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SH).astimezone(UTC)  # type: ignore[misc]


def test_send_at_night_waits_for_the_end_of_quiet_hours_when_they_cross_midnight() -> None:
    policy = _policy()
    assert policy.dispatch_time(_local(2026, 12, 7, 22, 30), quiet_hours=True, skip_holidays=False) == _local(
        2026, 12, 8, 9, 0
    )
    assert policy.dispatch_time(_local(2026, 12, 8, 3, 0), quiet_hours=True, skip_holidays=False) == _local(
        2026, 12, 8, 9, 0
    )
    assert policy.dispatch_time(_local(2026, 12, 8, 10, 0), quiet_hours=True, skip_holidays=False) == _local(
        2026, 12, 8, 10, 0
    )
    assert policy.dispatch_time(_local(2026, 12, 7, 22, 30), quiet_hours=False, skip_holidays=False) == _local(
        2026, 12, 7, 22, 30
    )


def test_skip_holidays_moves_to_the_next_workday_when_the_day_is_off() -> None:
    # Saturday 12 Dec 2026 off -> Monday 14 Dec 09:00; a declared make-up Saturday is a workday.
    policy = _policy(DayOverride(date(2026, 12, 19), DayKind.WORKDAY, "调休"))
    assert policy.dispatch_time(_local(2026, 12, 12, 11, 0), quiet_hours=True, skip_holidays=True) == _local(
        2026, 12, 14, 9, 0
    )
    assert policy.dispatch_time(_local(2026, 12, 19, 11, 0), quiet_hours=True, skip_holidays=True) == _local(
        2026, 12, 19, 11, 0
    )
    # Friday night in quiet hours with holidays skipped: not Saturday 09:00 but Monday 09:00.
    assert policy.dispatch_time(_local(2026, 12, 11, 23, 0), quiet_hours=True, skip_holidays=True) == _local(
        2026, 12, 14, 9, 0
    )


def test_quiet_hours_inside_one_day_when_start_is_before_end() -> None:
    policy = CampaignPolicy(
        zone="Asia/Shanghai",
        calendar=BusinessCalendar("Asia/Shanghai", WorkingHours()),
        quiet_start=time(12, 0),
        quiet_end=time(14, 0),
    )
    assert policy.in_quiet_hours(time(13, 0)) and not policy.in_quiet_hours(time(14, 0))
    assert policy.dispatch_time(_local(2026, 12, 8, 12, 30), quiet_hours=True, skip_holidays=False) == _local(
        2026, 12, 8, 14, 0
    )


def test_month_cap_is_the_days_of_the_month_when_counted_in_the_business_zone() -> None:
    # 31 Jan 20:00 UTC is already 1 Feb in Shanghai: February's cap (28 days in 2027).
    assert _policy().month_cap(datetime(2027, 1, 31, 20, 0, tzinfo=UTC)) == ("2027-02", 28)
