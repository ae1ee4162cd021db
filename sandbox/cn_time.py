"""Beijing-time calendar keys: WeCom's daily and monthly quotas roll over at midnight in China."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta, timezone
from typing import Final

# China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact and needs no tzdata.
CN_TZ: Final = timezone(timedelta(hours=8), "Asia/Shanghai")


def cn_datetime(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=CN_TZ)


def day_key(epoch: int) -> str:
    """The natural day in China, e.g. "2026-05-01": message/send's daily budget resets at its end."""
    return cn_datetime(epoch).strftime("%Y-%m-%d")


def month_key(epoch: int) -> str:
    """The calendar month in China, e.g. "2026-05": the mass-message cap counts per such month."""
    return cn_datetime(epoch).strftime("%Y-%m")


def days_in_month(epoch: int) -> int:
    moment = cn_datetime(epoch)
    return calendar.monthrange(moment.year, moment.month)[1]
