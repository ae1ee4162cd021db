"""The time phrases a rep types for a reminder, read in the business zone (Tuesday 2026-12-08 09:30 here)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.service.when_phrases import WhenError, read_when

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 8, 9, 30, tzinfo=ZONE)  # a Tuesday


@pytest.mark.parametrize(
    ("text", "moment", "rest"),
    [
        ("明天下午3点 回访续费", "2026-12-09 15:00", "回访续费"),
        ("明天 下午 3点 回访", "2026-12-09 15:00", "回访"),
        ("后天", "2026-12-10 10:00", ""),  # a day without a time: mid-morning
        ("大后天晚上", "2026-12-11 19:00", ""),
        ("3天后 问下课程体验", "2026-12-11 10:00", "问下课程体验"),
        ("三天以后", "2026-12-11 10:00", ""),
        ("周五", "2026-12-11 10:00", ""),
        ("周二", "2026-12-15 10:00", ""),  # today's weekday: the next one
        ("下周一 10:00 发报价", "2026-12-14 10:00", "发报价"),
        ("下个星期日", "2026-12-20 10:00", ""),
        ("12月20号 上午", "2026-12-20 10:00", ""),
        ("1月5日 续费", "2027-01-05 10:00", "续费"),  # a date already past this year: next year's
        ("2027-01-03 14:00 开会", "2027-01-03 14:00", "开会"),
        ("下午4点半 电话", "2026-12-08 16:30", "电话"),
        ("晚上8点", "2026-12-08 20:00", ""),
        ("十点 打电话", "2026-12-08 10:00", "打电话"),
        ("2点", "2026-12-08 14:00", ""),  # said at work: the afternoon
        ("早7点", "2026-12-09 07:00", ""),
        ("中午1点", "2026-12-08 13:00", ""),
    ],
)
def test_a_phrase_at_the_start_names_a_moment_and_leaves_the_rest(text: str, moment: str, rest: str) -> None:
    when = read_when(text, NOW)
    assert when is not None
    assert (when.moment.strftime("%Y-%m-%d %H:%M"), when.rest) == (moment, rest)
    assert when.moment.tzinfo == ZONE


@pytest.mark.parametrize("text", ["回访续费", "", "3个课程的续费", "两星期后再说"])
def test_text_without_a_phrase_at_its_start_names_no_moment(text: str) -> None:
    assert read_when(text, NOW) is None


REFUSED = [("今天 9点", "已经过去了"), ("2月30号", "没有 2 月 30 日"), ("25点", "没有")]


@pytest.mark.parametrize(("text", "says"), REFUSED)
def test_a_past_or_impossible_moment_is_refused_in_words(text: str, says: str) -> None:
    with pytest.raises(WhenError, match=says):
        read_when(text, NOW)
