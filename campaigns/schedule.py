"""When a campaign is due: a broadcast at its time, a recurring one at its latest cron time, an automation daily."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from campaigns.document import EVENT_TRIGGERS, CampaignDocument, broadcast_time

MAX_STEPS: Final = 10_000
# A firing missed by more than this (the bot was down) is not made up: a stale "good morning" helps nobody.
MISSED_GRACE: Final = timedelta(hours=6)


def due_firing(
    document: CampaignDocument, created_at: datetime, last: datetime | None, now: datetime, zone: str
) -> datetime | None:
    """The scheduled time of the firing due now, if it has not run yet (`last` is the latest run's time)."""
    created_at = _utc(created_at)
    last = _utc(last) if last is not None else None
    if document.kind == "broadcast":
        at = broadcast_time(document, zone, created_at)
        return at if at <= now and last is None else None
    if document.kind == "recurring":
        assert document.cron is not None
        latest = latest_cron_time(document.cron, zone, last or created_at, now)
        return latest if latest is not None and now - latest <= MISSED_GRACE else None
    assert document.trigger is not None
    if document.trigger.event in EVENT_TRIGGERS:
        return None  # fired by its callback as it happens (campaigns/welcome.py)
    local_zone = ZoneInfo(zone)
    today = now.astimezone(local_zone).date()
    scheduled = datetime.combine(today, document.trigger.local_time(), tzinfo=local_zone).astimezone(UTC)
    if scheduled > now or today < created_at.astimezone(local_zone).date():
        return None
    if last is not None and last >= scheduled:
        return None
    return scheduled


def latest_cron_time(cron: str, zone: str, after: datetime, now: datetime) -> datetime | None:
    """The last cron time in (after, now], or None."""
    trigger = CronTrigger.from_crontab(cron, timezone=ZoneInfo(zone))
    latest: datetime | None = None
    candidate = trigger.get_next_fire_time(None, after + timedelta(seconds=1))
    for _ in range(MAX_STEPS):
        if candidate is None or candidate > now:
            break
        latest = candidate
        candidate = trigger.get_next_fire_time(candidate, candidate + timedelta(seconds=1))
    return latest.astimezone(UTC) if latest is not None else None


def next_cron_time(cron: str, zone: str, after: datetime) -> datetime | None:
    trigger = CronTrigger.from_crontab(cron, timezone=ZoneInfo(zone))
    found = trigger.get_next_fire_time(None, after + timedelta(seconds=1))
    return found.astimezone(UTC) if found is not None else None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
