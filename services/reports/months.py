"""What the monthly reports share: calendar months in the business zone, and the table shape they return."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Table:
    """A report table: the page and the CSV show the same header and rows; `chart` is what the chart draws."""

    header: list[str]
    rows: list[list[Any]]
    chart: dict[str, Any] = field(default_factory=dict)


def month_key(moment: datetime, zone: str) -> str:
    """YYYY-MM of the moment in the business zone (a naive moment is UTC, as stored by SQLite)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(zone)).strftime("%Y-%m")


def last_months(now: datetime, zone: str, count: int) -> list[date]:
    """The first days of the last `count` months up to and including this one, oldest first."""
    local = now.astimezone(ZoneInfo(zone)).date().replace(day=1)
    months = [local]
    for _ in range(count - 1):
        previous = months[-1]
        months.append(
            date(previous.year - 1, 12, 1) if previous.month == 1 else previous.replace(month=previous.month - 1)
        )
    return list(reversed(months))


def month_start(month: date, zone: str) -> datetime:
    """The instant the month begins in the business zone."""
    return datetime.combine(month.replace(day=1), time(), ZoneInfo(zone))


def months_between(first: str, later: str) -> int:
    """How many months `later` (YYYY-MM) is after `first`."""
    (y1, m1), (y2, m2) = (map(int, first.split("-")), map(int, later.split("-")))
    return (y2 - y1) * 12 + (m2 - m1)


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None
