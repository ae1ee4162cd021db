"""Response-time metrics: nearest-rank percentiles, averages, per rep and per chat, breaches."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.events import ChatKind
from services.service.response_times import Summary, percentile, response_stats
from tests.unit.service_world import GROUP, KF, cn, make_world


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([], 50, None),
        ([7.0], 50, 7.0),
        ([7.0], 90, 7.0),
        ([1.0, 2.0], 50, 1.0),
        ([1.0, 2.0], 90, 2.0),
        ([5.0, 1.0, 3.0, 2.0, 4.0], 50, 3.0),
        ([float(v) for v in range(1, 11)], 50, 5.0),
        ([float(v) for v in range(1, 11)], 90, 9.0),
        ([float(v) for v in range(1, 12)], 90, 10.0),
        ([float(v) for v in range(1, 101)], 90, 90.0),
        ([float(v) for v in range(100, 0, -1)], 91, 91.0),
    ],
)
def test_percentiles_use_nearest_rank(values: list[float], p: float, expected: float | None) -> None:
    assert percentile(values, p) == expected


def test_summary_averages_and_is_empty_without_values() -> None:
    assert Summary.of([60.0, 120.0, 600.0]) == Summary(p50=120.0, p90=600.0, average=260.0)
    assert Summary.of([]) == Summary(None, None, None)


async def test_response_stats_group_by_rep_and_chat_and_count_breaches(engine: AsyncEngine) -> None:
    t = cn(2026, 11, 23, 10, 0)
    world = await make_world(engine, t)
    for ext, name in (("wmA", "甲"), ("wmB", "乙"), ("wmC", "丙"), ("wmD", "丁")):
        await world.customer(ext, name, owner="zhangsan")
    # zhangsan answers A in 2 minutes and B in 40 (late: the default policy allows 30); wangwu answers C in kf in 6.
    await world.say("怎么报名？", chat=GROUP, customer="wmA", at=t)
    await world.say("@甲 点群公告链接", chat=GROUP, member="zhangsan", at=t + timedelta(minutes=2))
    await world.say("多少钱？", chat=GROUP, customer="wmB", at=t + timedelta(minutes=5))
    await world.say("@乙 199元", chat=GROUP, member="zhangsan", at=t + timedelta(minutes=45))
    await world.say("能开发票吗？", chat=KF, customer="wmC", kind=ChatKind.KF, at=t)
    await world.say("rep:可以", chat=KF, customer="wmC", member="wangwu", kind=ChatKind.KF, at=t + timedelta(minutes=6))
    # D is never answered: escalated by the tick at 10:30, a breach of its owner zhangsan.
    await world.say("在吗？请回复", chat=KF, customer="wmD", kind=ChatKind.KF, at=t)
    await world.tick(t + timedelta(minutes=50))

    async with world.sessions() as session:
        stats = await response_stats(session, t, t + timedelta(hours=1))
    assert stats.overall.answered == 3 and stats.overall.breaches == 2
    assert stats.overall.business_s == Summary(p50=360.0, p90=2400.0, average=(120 + 2400 + 360) / 3)
    reps = {r.key: r for r in stats.by_rep}
    assert set(reps) == {"zhangsan", "wangwu"}
    assert (reps["zhangsan"].answered, reps["zhangsan"].breaches) == (2, 2)
    assert reps["zhangsan"].wall_s == Summary(p50=120.0, p90=2400.0, average=1260.0)
    assert (reps["wangwu"].answered, reps["wangwu"].breaches, reps["wangwu"].business_s.p50) == (1, 0, 360.0)
    chats = {c.key: c for c in stats.by_chat}
    assert (chats[GROUP].answered, chats[GROUP].chat_type, chats[GROUP].breaches) == (2, "group", 1)
    assert (chats[KF].answered, chats[KF].chat_type, chats[KF].breaches) == (1, "kf", 1)
    data = json.loads(json.dumps(stats.to_dict()))
    assert data["overall"]["business_s"]["p90"] == 2400.0 and data["start"].startswith("2026-11-23T")

    async with world.sessions() as session:
        earlier = await response_stats(session, t - timedelta(days=1), t)
    assert earlier.overall.answered == 0 and earlier.by_rep == () and earlier.overall.business_s.p50 is None


async def test_answers_outside_business_hours_are_counted_apart_when_no_business_time_passed(
    engine: AsyncEngine,
) -> None:
    monday, saturday_night = cn(2026, 11, 23, 10, 0), cn(2026, 11, 28, 20, 0)
    world = await make_world(engine, monday)
    for ext, name in (("wmA", "甲"), ("wmB", "乙")):
        await world.customer(ext, name, owner="zhangsan")
    await world.say("怎么报名？", chat=GROUP, customer="wmA", at=monday)
    await world.say("@甲 点群公告链接", chat=GROUP, member="zhangsan", at=monday + timedelta(minutes=2))
    await world.say("周末发货吗？", chat=GROUP, customer="wmB", at=saturday_night)
    await world.say("@乙 发的", chat=GROUP, member="zhangsan", at=saturday_night + timedelta(minutes=5))

    async with world.sessions() as session:
        stats = await response_stats(session, monday, monday + timedelta(days=7))
    # Not a p50 of "0 秒": the Saturday-night answer has no business time, so it is reported on its own.
    assert (stats.overall.answered, stats.overall.off_hours) == (2, 1)
    assert stats.overall.business_s == Summary(p50=120.0, p90=120.0, average=120.0)
    assert stats.overall.wall_s.p90 == 300.0
