"""Chinese time phrases a rep types for a reminder ("明天下午3点", "3天后", "下周一 10:00", "12月20号"), read at the
start of a text in the business time zone; what follows is the rest of the message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final

DEFAULT_HOUR: Final = 10  # a day without a time: mid-morning, when a rep is at work
PART_HOURS: Final = {"上午": 10, "早上": 9, "早": 9, "中午": 12, "下午": 15, "傍晚": 18, "晚上": 19}
_NUMERALS: Final = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_WEEKDAYS: Final = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_NUM: Final = r"(?:\d{1,2}|十[一二]?|[一二两三四五六七八九十])"
_DAY: Final = (
    r"(?P<rel>今天|明天|后天|大后天)"
    rf"|(?P<after>{_NUM})天(?:以?后|之后)"
    r"|(?P<next>下个?)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天])"
    r"|(?:(?P<y>\d{4})[-/年])?(?P<m>\d{1,2})[-/月](?P<d>\d{1,2})[日号]?"
)
_PART: Final = r"(?P<part>上午|早上|中午|下午|傍晚|晚上|早)"
_CLOCK: Final = rf"(?P<h>{_NUM})(?:[:：](?P<mm>\d{{2}})|点(?:(?P<half>半)|(?P<pm>\d{{1,2}})分?)?)"
_PHRASE: Final = re.compile(rf"^\s*(?:(?:{_DAY})\s*)?(?:{_PART}\s*)?(?:{_CLOCK})?")


class WhenError(ValueError):
    """A time phrase that names an impossible or past moment; the message says so in Chinese."""


@dataclass(frozen=True, slots=True)
class When:
    moment: datetime  # aware, in the zone of `now`
    rest: str  # the text after the phrase


def read_when(text: str, now: datetime) -> When | None:
    """The moment a phrase at the start of `text` names (None when there is no phrase); WhenError for one that
    names a past or impossible moment. `now` is aware, in the business zone."""
    match = _PHRASE.match(text)
    if match is None or not match.group(0).strip():
        return None
    g = match.groupdict()
    day = _day(g, now.date())
    clock = _clock(g)
    if day is None and clock is None:
        return None
    if day is None:  # "下午3点": today, or tomorrow once it has passed
        day = now.date()
        if datetime.combine(day, clock or time(DEFAULT_HOUR), now.tzinfo) <= now:
            day += timedelta(days=1)
    moment = datetime.combine(day, clock or time(_part_hour(g["part"])), now.tzinfo)
    if moment <= now:
        raise WhenError(f"「{match.group(0).strip()}」已经过去了")
    return When(moment, text[match.end() :].strip())


def _number(token: str) -> int:
    if token.isdigit():
        return int(token)
    if token.startswith("十"):
        return 10 + (_NUMERALS[token[1]] if len(token) > 1 else 0)
    return _NUMERALS[token]


def _day(g: dict[str, str | None], today: date) -> date | None:
    if rel := g["rel"]:
        return today + timedelta(days=("今天", "明天", "后天", "大后天").index(rel))
    if after := g["after"]:
        return today + timedelta(days=_number(after))
    if wd := g["wd"]:
        target = _WEEKDAYS[wd]
        if g["next"]:  # the weekday of next week, Monday to Sunday
            return today - timedelta(days=today.weekday()) + timedelta(days=7 + target)
        return today + timedelta(days=(target - today.weekday()) % 7 or 7)  # the coming one, never today
    if g["m"] and g["d"]:
        year = int(g["y"]) if g["y"] else today.year
        try:
            found = date(year, int(g["m"]), int(g["d"]))
        except ValueError:
            raise WhenError(f"没有 {g['m']} 月 {g['d']} 日这一天") from None
        if found < today and not g["y"]:
            found = found.replace(year=year + 1)  # "1月5号" said in December: next January
        return found
    return None


def _part_hour(part: str | None) -> int:
    return PART_HOURS.get(part or "", DEFAULT_HOUR)


def _clock(g: dict[str, str | None]) -> time | None:
    if g["h"] is None:
        return None
    hour = _number(g["h"])
    minute = 30 if g["half"] else int(g["mm"] or g["pm"] or 0)
    afternoon = g["part"] in ("下午", "傍晚", "晚上") and hour < 12
    # "中午1点"; and a bare "2点" said at work is 14:00, not the middle of the night.
    after_noon = (g["part"] == "中午" and hour < 3) or (g["part"] is None and 1 <= hour <= 7)
    if afternoon or after_noon:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise WhenError(f"没有 {hour} 点 {minute} 分这个时间")
    return time(hour, minute)
