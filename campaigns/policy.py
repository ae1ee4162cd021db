"""The campaign rules built once from Settings: quiet hours, frequency cap, batches, caps, the business calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.service.calendar import BusinessCalendar


@dataclass(frozen=True, slots=True)
class CampaignPolicy:
    zone: str
    calendar: BusinessCalendar
    quiet_start: time = time(21, 0)
    quiet_end: time = time(9, 0)
    frequency_cap: int = 2  # marketing messages per customer ...
    frequency_days: int = 7  # ... per this many days, across every campaign and path
    batch_size: int = 5000  # customers per committed batch (bench/RESULTS.md: 1k vs 5k vs 10k)
    monthly_cap: bool = True  # pre-check WeCom's per-customer mass cap (days in the month) before tasking
    task_max_targets: int = 10_000  # add_msg_template: at most this many customers per task

    def in_quiet_hours(self, local: time) -> bool:
        if self.quiet_start == self.quiet_end:
            return False
        if self.quiet_start < self.quiet_end:
            return self.quiet_start <= local < self.quiet_end
        return local >= self.quiet_start or local < self.quiet_end  # across midnight

    def dispatch_time(self, moment: datetime, *, quiet_hours: bool, skip_holidays: bool) -> datetime:
        """The first allowed moment at or after `moment`: out of quiet hours, and on a workday when asked."""
        zone = ZoneInfo(self.zone)
        local = moment.astimezone(zone)
        for _ in range(400):  # at most a year of holidays in a row
            if skip_holidays and not self.calendar.is_working_day(local.date()):
                local = _day_start(local.date() + timedelta(days=1), self.quiet_end if quiet_hours else time(0), zone)
                continue
            if quiet_hours and self.in_quiet_hours(local.time().replace(tzinfo=None)):
                local = self._quiet_end_after(local, zone)
                continue
            return local.astimezone(UTC)
        return local.astimezone(UTC)

    def _quiet_end_after(self, local: datetime, zone: ZoneInfo) -> datetime:
        day = local.date() if local.time() < self.quiet_end else local.date() + timedelta(days=1)
        return _day_start(day, self.quiet_end, zone)

    def month_cap(self, moment: datetime) -> tuple[str, int]:
        """WeCom's default per-customer mass cap: the days in the month (in the business zone), keyed YYYY-MM."""
        local = moment.astimezone(ZoneInfo(self.zone))
        first_next = (local.replace(day=1) + timedelta(days=32)).replace(day=1)
        return local.strftime("%Y-%m"), (first_next - timedelta(days=1)).day


def _day_start(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)
