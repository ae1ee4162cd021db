"""Business calendar: working days and hours in one zone, Chinese public holidays, make-up workdays and overrides."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)
# Years already warned about in this process: the service rules build a calendar per use, and each one meeting
# next year's dates at run time repeated the start-up warning.
_WARNED_YEARS: set[int] = set()

# Days whose worked stretches are kept (least recently used dropped first): enough for two years of deadlines and
# reports, while the calendar lives as long as the process and is asked about ever new days.
DAY_CACHE: Final = 800

# A deadline further than this is a configuration with (almost) no working time; refuse rather than loop.
MAX_SEARCH_DAYS: Final = 800
HOLIDAYS_CONFIG_KEY: Final = "service.holidays"

Interval = tuple[datetime, datetime]


class DayKind(StrEnum):
    HOLIDAY = "holiday"
    WORKDAY = "workday"


@dataclass(frozen=True, slots=True)
class DayOverride:
    """One date the operator declares a holiday or a (make-up) workday; it beats chinese_calendar."""

    day: date
    kind: DayKind
    name: str = ""


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """Which ISO weekdays (Monday = 1) are worked, from when to when, minus breaks (local wall-clock times)."""

    days: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    start: time = time(9)
    end: time = time(18)
    breaks: tuple[tuple[time, time], ...] = ()

    def segments(self) -> list[tuple[time, time]]:
        """The worked stretches of a working day, in order: [start, end] with the breaks cut out."""
        parts: list[tuple[time, time]] = []
        cursor = self.start
        for pause_start, pause_end in sorted(self.breaks):
            if pause_start > cursor:
                parts.append((cursor, pause_start))
            cursor = max(cursor, pause_end)
        if cursor < self.end:
            parts.append((cursor, self.end))
        return parts


class BusinessCalendar:
    """Pure time arithmetic over working hours; each day's intervals are computed once and cached.

    A date is worked when: an override says so; else chinese_calendar's declared holiday (off) or make-up workday
    (on); else its weekday is in `hours.days`. A year chinese_calendar has no data for, with no override in it,
    falls back to weekdays (`uncovered_years` lets start-up warn about it loudly).
    """

    def __init__(self, zone: str, hours: WorkingHours, overrides: Iterable[DayOverride] = ()) -> None:
        self.zone = ZoneInfo(zone)
        self.hours = hours
        self._overrides = {o.day: o for o in overrides}
        self._override_years = {day.year for day in self._overrides}
        self._segments = hours.segments()
        self._days: OrderedDict[date, tuple[Interval, ...]] = OrderedDict()

    # ---- days ------------------------------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        override = self._overrides.get(day)
        if override is not None:
            return override.kind is DayKind.WORKDAY
        try:
            is_holiday, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            if day.year not in self._override_years and day.year not in _WARNED_YEARS:
                _WARNED_YEARS.add(day.year)
                log.warning(_missing_year_message(day.year))
            return day.isoweekday() in self.hours.days
        if name is not None:  # a declared public holiday (off) or a make-up workday (on), whatever the weekday
            return not is_holiday
        return day.isoweekday() in self.hours.days

    def uncovered_years(self, years: Iterable[int]) -> list[int]:
        """Years with neither chinese_calendar data nor any `service.holidays` entry: weekdays are only a guess."""
        missing = []
        for year in sorted(set(years)):
            if year in self._override_years:
                continue
            try:
                chinese_calendar.get_holiday_detail(date(year, 1, 1))
            except NotImplementedError:
                missing.append(year)
        return missing

    def warn_uncovered_years(self, years: Iterable[int]) -> list[int]:
        """Log the warning for each uncovered year not yet warned about in this process (start-up calls this for
        this year and the next); meeting those years later at run time, in any calendar, does not repeat it."""
        missing = self.uncovered_years(years)
        for year in missing:
            if year not in _WARNED_YEARS:
                _WARNED_YEARS.add(year)
                log.warning(_missing_year_message(year))
        return missing

    def intervals(self, day: date) -> tuple[Interval, ...]:
        """The day's worked stretches as aware UTC datetimes (empty on a day off)."""
        cached = self._days.get(day)
        if cached is not None:
            self._days.move_to_end(day)
            return cached
        cached = ()
        if self.is_working_day(day):
            cached = tuple((self._at(day, start), self._at(day, end)) for start, end in self._segments if start < end)
        self._days[day] = cached
        if len(self._days) > DAY_CACHE:
            self._days.popitem(last=False)
        return cached

    @property
    def cached_days(self) -> int:
        return len(self._days)

    def _at(self, day: date, moment: time) -> datetime:
        return datetime.combine(day, moment, tzinfo=self.zone).astimezone(UTC)

    def local_date(self, moment: datetime) -> date:
        return _aware(moment).astimezone(self.zone).date()

    # ---- moments ---------------------------------------------------------------------------------------------

    def is_business_time(self, moment: datetime) -> bool:
        moment = _aware(moment)
        return any(start <= moment < end for start, end in self.intervals(self.local_date(moment)))

    def add_business_time(self, start: datetime, seconds: float) -> datetime:
        """The moment `seconds` of business time after `start` (a deadline); from outside hours the count starts
        at the next business moment. A deadline that lands on the end of a stretch is that end."""
        start = _aware(start)
        if seconds <= 0:
            return start
        remaining = float(seconds)
        day = self.local_date(start)
        for _ in range(MAX_SEARCH_DAYS):
            for begin, end in self.intervals(day):
                if end <= start:
                    continue
                begin = max(begin, start)
                span = (end - begin).total_seconds()
                if remaining <= span:
                    return begin + timedelta(seconds=remaining)
                remaining -= span
            day += timedelta(days=1)
        raise ValueError(
            f"no {seconds:.0f} s of business time within {MAX_SEARCH_DAYS} days of {start.isoformat()}: "
            "check service.business_hours and service.holidays"
        )

    def business_seconds_between(self, a: datetime, b: datetime) -> float:
        """Business seconds in [a, b); 0 when b is not after a."""
        a, b = _aware(a), _aware(b)
        if b <= a:
            return 0.0
        total = 0.0
        day, last = self.local_date(a), self.local_date(b)
        while day <= last:
            for begin, end in self.intervals(day):
                overlap = (min(end, b) - max(begin, a)).total_seconds()
                if overlap > 0:
                    total += overlap
            day += timedelta(days=1)
        return total


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("business-time arithmetic needs aware datetimes (UTC in the database)")
    return moment


def _missing_year_message(year: int) -> str:
    return (
        f"Business calendar has no holiday data for {year}: chinese_calendar does not cover it and "
        f"{HOLIDAYS_CONFIG_KEY} has no entry in {year}. SLA deadlines in {year} count plain weekdays, "
        "ignoring public holidays and make-up workdays. Add that year's official schedule to "
        f"{HOLIDAYS_CONFIG_KEY} in config.yaml (e.g. {{date: {year}-01-01, kind: holiday, name: 元旦}}), "
        "or upgrade chinese-calendar."
    )


def forget_warnings() -> None:
    """Tests start each case as a fresh process would: every uncovered year warns again once."""
    _WARNED_YEARS.clear()
