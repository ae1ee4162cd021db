"""Business calendar: working hours in Asia/Shanghai, chinese_calendar holidays and make-up days, config overrides."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.service.calendar import (
    DAY_CACHE,
    BusinessCalendar,
    DayKind,
    DayOverride,
    WorkingHours,
    forget_warnings,
)

CN = ZoneInfo("Asia/Shanghai")
HOURS = WorkingHours(frozenset({1, 2, 3, 4, 5}), time(9), time(18))
LUNCH = WorkingHours(frozenset({1, 2, 3, 4, 5}), time(9), time(18), ((time(12), time(13, 30)),))
NEW_YEAR_2027 = DayOverride(date(2027, 1, 1), DayKind.HOLIDAY, "元旦")
MAKEUP_2027 = DayOverride(date(2027, 1, 9), DayKind.WORKDAY, "调休上班")


@pytest.fixture(autouse=True)
def fresh_process_warnings() -> None:
    """The holiday warning is once per process; each test starts as a new process would."""
    forget_warnings()


def cn(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=CN)  # type: ignore[misc]


@pytest.fixture
def calendar() -> BusinessCalendar:
    return BusinessCalendar("Asia/Shanghai", HOURS, [NEW_YEAR_2027, MAKEUP_2027])


@pytest.mark.parametrize(
    ("day", "worked"),
    [
        (date(2026, 4, 3), True),  # Friday before Qingming
        (date(2026, 4, 6), False),  # Qingming (Monday)
        (date(2026, 9, 20), True),  # Sunday, make-up workday for Mid-autumn/National Day
        (date(2026, 9, 19), False),  # plain Saturday
        (date(2026, 10, 1), False),  # National Day
        (date(2026, 10, 8), True),  # Thursday after the break (worked)
        (date(2026, 10, 10), True),  # Saturday, make-up workday
        (date(2026, 6, 19), False),  # Dragon Boat festival (Friday)
        (date(2026, 11, 23), True),  # plain Monday
        (date(2027, 1, 1), False),  # config holiday, a year chinese_calendar lacks
        (date(2027, 1, 9), True),  # config make-up Saturday
        (date(2027, 1, 4), True),  # plain Monday in 2027: weekday fallback
        (date(2027, 1, 10), False),  # plain Sunday in 2027
    ],
)
def test_working_days_follow_holidays_makeup_days_and_config_when_asked(
    calendar: BusinessCalendar, day: date, worked: bool
) -> None:
    assert calendar.is_working_day(day) is worked


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (cn(2026, 11, 23, 8, 59, 59), False),
        (cn(2026, 11, 23, 9, 0), True),
        (cn(2026, 11, 23, 17, 59, 59), True),
        (cn(2026, 11, 23, 18, 0), False),  # the end is exclusive
        (cn(2026, 11, 22, 10, 0), False),  # Sunday
        (cn(2026, 9, 20, 10, 0), True),  # make-up Sunday
    ],
)
def test_business_time_is_inside_working_hours_of_working_days(
    calendar: BusinessCalendar, moment: datetime, inside: bool
) -> None:
    assert calendar.is_business_time(moment) is inside


@pytest.mark.parametrize(
    ("start", "minutes", "deadline"),
    [
        (cn(2026, 11, 23, 10, 0), 30, cn(2026, 11, 23, 10, 30)),  # plain Monday
        (cn(2026, 11, 23, 17, 50), 30, cn(2026, 11, 24, 9, 20)),  # rolls over the night
        (cn(2026, 11, 23, 7, 0), 30, cn(2026, 11, 23, 9, 30)),  # asked before opening
        (cn(2026, 11, 23, 20, 0), 30, cn(2026, 11, 24, 9, 30)),  # asked after closing
        (cn(2026, 11, 23, 17, 30), 30, cn(2026, 11, 23, 18, 0)),  # lands exactly on the close
        (cn(2026, 4, 3, 17, 55), 30, cn(2026, 4, 7, 9, 25)),  # Friday before Qingming Monday
        (cn(2026, 9, 18, 17, 55), 30, cn(2026, 9, 20, 9, 25)),  # Friday before a make-up Sunday
        (cn(2026, 9, 30, 17, 55), 30, cn(2026, 10, 8, 9, 25)),  # before the National Day week
        (cn(2026, 12, 31, 17, 55), 30, cn(2027, 1, 4, 9, 25)),  # before a config holiday in 2027
        (cn(2027, 1, 8, 17, 55), 30, cn(2027, 1, 9, 9, 25)),  # before a config make-up Saturday
        (cn(2026, 11, 23, 9, 0), 24 * 60, cn(2026, 11, 25, 15, 0)),  # 24 business hours = 2 days 6 h
    ],
)
def test_deadlines_skip_nights_weekends_and_holidays_when_added(
    calendar: BusinessCalendar, start: datetime, minutes: int, deadline: datetime
) -> None:
    assert calendar.add_business_time(start, minutes * 60) == deadline


def test_lunch_break_is_not_business_time_when_configured() -> None:
    calendar = BusinessCalendar("Asia/Shanghai", LUNCH)
    assert not calendar.is_business_time(cn(2026, 11, 23, 12, 30))
    assert calendar.add_business_time(cn(2026, 11, 23, 11, 50), 30 * 60) == cn(2026, 11, 23, 13, 50)
    assert calendar.business_seconds_between(cn(2026, 11, 23, 11, 0), cn(2026, 11, 23, 14, 0)) == 90 * 60
    assert calendar.business_seconds_between(cn(2026, 11, 23, 0, 0), cn(2026, 11, 24, 0, 0)) == 7.5 * 3600


@pytest.mark.parametrize(
    ("a", "b", "minutes"),
    [
        (cn(2026, 11, 23, 10, 0), cn(2026, 11, 23, 10, 30), 30),
        (cn(2026, 4, 3, 17, 55), cn(2026, 4, 7, 9, 25), 30),  # over the Qingming weekend
        (cn(2026, 9, 18, 17, 55), cn(2026, 9, 20, 10, 0), 65),  # Saturday off, make-up Sunday counts
        (cn(2026, 11, 21, 10, 0), cn(2026, 11, 22, 20, 0), 0),  # a whole weekend
        (cn(2026, 11, 23, 10, 30), cn(2026, 11, 23, 10, 0), 0),  # reversed
        (cn(2026, 11, 23, 9, 0), cn(2026, 11, 30, 9, 0), 5 * 9 * 60),  # one working week
    ],
)
def test_business_seconds_between_count_only_working_time(
    calendar: BusinessCalendar, a: datetime, b: datetime, minutes: int
) -> None:
    assert calendar.business_seconds_between(a, b) == minutes * 60


def test_adding_then_measuring_gives_back_the_same_business_time_when_round_tripped(
    calendar: BusinessCalendar,
) -> None:
    start = cn(2026, 9, 24, 16, 7, 13)
    for minutes in (1, 29, 53, 540, 600, 3000):
        deadline = calendar.add_business_time(start, minutes * 60)
        assert calendar.business_seconds_between(start, deadline) == pytest.approx(minutes * 60)
        assert calendar.is_business_time(deadline - timedelta(seconds=1))


def test_a_year_without_data_or_config_is_a_loud_warning_once_when_checked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calendar = BusinessCalendar("Asia/Shanghai", HOURS)
    with caplog.at_level(logging.WARNING, logger="services.service.calendar"):
        assert calendar.warn_uncovered_years([2026, 2027]) == [2027]
        calendar.add_business_time(cn(2027, 3, 1, 10, 0), 3600)  # meeting it again later: no second warning
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "2027" in warnings[0].getMessage() and "service.holidays" in warnings[0].getMessage()
    # Weekdays are the fallback: Monday 2027-03-01 is worked.
    assert calendar.is_working_day(date(2027, 3, 1))


def test_a_year_with_config_entries_is_covered_without_a_warning_when_checked(
    calendar: BusinessCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="services.service.calendar"):
        assert calendar.warn_uncovered_years([2026, 2027]) == []
        calendar.is_working_day(date(2027, 5, 3))
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


def test_a_year_first_met_at_run_time_warns_once_when_uncovered(caplog: pytest.LogCaptureFixture) -> None:
    calendar = BusinessCalendar("Asia/Shanghai", HOURS)
    with caplog.at_level(logging.WARNING, logger="services.service.calendar"):
        calendar.is_working_day(date(2028, 2, 1))
        calendar.is_working_day(date(2028, 2, 2))
    assert len([r for r in caplog.records if "2028" in r.getMessage()]) == 1


def test_naive_datetimes_are_refused_when_given() -> None:
    calendar = BusinessCalendar("Asia/Shanghai", HOURS)
    with pytest.raises(ValueError, match="aware"):
        calendar.add_business_time(datetime(2026, 11, 23, 10, 0), 60)


def test_a_calendar_with_no_working_days_fails_clearly_when_asked_for_a_deadline() -> None:
    mondays_only = WorkingHours(frozenset({1}), time(9), time(18))
    every_monday_off = [DayOverride(date(2026, 11, 23) + timedelta(days=7 * n), DayKind.HOLIDAY) for n in range(200)]
    calendar = BusinessCalendar("Asia/Shanghai", mondays_only, every_monday_off)
    with pytest.raises(ValueError, match=r"service\.business_hours"):
        calendar.add_business_time(cn(2026, 11, 23, 10, 0), 60)


def test_the_holiday_warning_is_logged_once_per_process_when_many_calendars_meet_the_year(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="services.service.calendar"):
        BusinessCalendar("Asia/Shanghai", HOURS).warn_uncovered_years([2027])
        for _ in range(3):  # the service rules build a calendar per message
            BusinessCalendar("Asia/Shanghai", HOURS).add_business_time(cn(2027, 3, 1, 10, 0), 3600)
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith("Business calendar has no holiday data for 2027")


def test_the_day_cache_stays_bounded_when_many_distinct_days_are_asked() -> None:
    # One calendar lives as long as the process (bot/policies.py): a cache that kept every day asked about grew
    # for ever (a day or more per day running, any span a deadline or a report walks over).
    calendar = BusinessCalendar("Asia/Shanghai", HOURS)
    first = date(2026, 1, 1)
    for offset in range(3 * DAY_CACHE):
        calendar.intervals(first + timedelta(days=offset))
    assert calendar.cached_days <= DAY_CACHE
    latest = first + timedelta(days=3 * DAY_CACHE - 1)
    assert calendar.intervals(latest) == BusinessCalendar("Asia/Shanghai", HOURS).intervals(latest)
