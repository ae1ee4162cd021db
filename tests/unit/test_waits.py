"""Waits: which messages open one, which replies close which, and the response times they record."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.events import ChatKind
from tests.unit.service_world import GROUP, KF, cn, make_world

T = cn(2026, 11, 23, 10, 0)  # a plain Monday morning


async def test_a_second_question_while_waiting_keeps_the_first_time(engine: AsyncEngine) -> None:
    world = await make_world(engine, T)
    await world.customer("wmA", "甲")
    await world.say("请问怎么退货？", chat=GROUP, customer="wmA", at=T)
    await world.say("还有，运费谁出？", chat=GROUP, customer="wmA", at=T + timedelta(minutes=3))
    [wait] = await world.waits()
    assert (wait.waiting_since, wait.question) == (T, "请问怎么退货？")


async def test_chitchat_and_thanks_open_no_wait(engine: AsyncEngine) -> None:
    world = await make_world(engine, T)
    await world.customer("wmA", "甲")
    for text in ("好的", "谢谢", "哈哈哈", "👍"):
        await world.say(text, chat=GROUP, customer="wmA", at=T)
    assert await world.waits() == []


async def test_a_member_reply_in_a_group_answers_every_waiting_customer_when_nobody_is_mentioned(
    engine: AsyncEngine,
) -> None:
    world = await make_world(engine, T)
    await world.customer("wmA", "甲")
    await world.customer("wmB", "乙")
    await world.say("几点开播？", chat=GROUP, customer="wmA", at=T)
    await world.say("回放在哪里看？", chat=GROUP, customer="wmB", at=T + timedelta(minutes=4))
    await world.say("今晚8点开播，回放在群公告", chat=GROUP, member="zhangsan", at=T + timedelta(minutes=10))
    waits = await world.waits()
    assert [(w.status, w.answered_by, w.business_response_s) for w in waits] == [
        ("answered", "zhangsan", 600),
        ("answered", "zhangsan", 360),
    ]


async def test_a_member_mentioning_one_customer_answers_only_that_customer(engine: AsyncEngine) -> None:
    world = await make_world(engine, T)
    await world.customer("wmA", "甲")
    await world.customer("wmB", "乙乙")
    await world.say("几点开播？", chat=GROUP, customer="wmA", at=T)
    await world.say("回放在哪里看？", chat=GROUP, customer="wmB", at=T)
    await world.say("@乙乙 回放在群公告", chat=GROUP, member="zhangsan", at=T + timedelta(minutes=2))
    waits = {w.question: w.status for w in await world.waits()}
    assert waits == {"几点开播？": "waiting", "回放在哪里看？": "answered"}


async def test_a_kf_servicer_answers_only_the_customer_they_write_to(engine: AsyncEngine) -> None:
    world = await make_world(engine, T)
    await world.customer("wmA", "甲")
    await world.customer("wmB", "乙")
    await world.say("在吗，有问题", chat=KF, customer="wmA", kind=ChatKind.KF, at=T)
    await world.say("怎么改地址？", chat=KF, customer="wmB", kind=ChatKind.KF, at=T)
    await world.say("rep:您好", chat=KF, customer="wmA", member="wangwu", kind=ChatKind.KF, at=T + timedelta(minutes=1))
    waits = {w.question: (w.status, w.answered_by) for w in await world.waits()}
    assert waits == {"在吗，有问题": ("answered", "wangwu"), "怎么改地址？": ("waiting", None)}


async def test_a_member_message_older_than_the_question_does_not_answer_it(engine: AsyncEngine) -> None:
    # The archive can deliver out of order: a rep's earlier line arriving after the question is not an answer.
    world = await make_world(engine, T)
    await world.customer("wmA", "甲")
    await world.say("发票怎么开？", chat=GROUP, customer="wmA", at=T)
    await world.say("大家好", chat=GROUP, member="zhangsan", at=T - timedelta(minutes=1))
    [wait] = await world.waits()
    assert wait.status == "waiting"


async def test_a_question_after_an_answer_opens_a_new_wait(engine: AsyncEngine) -> None:
    world = await make_world(engine, T)
    await world.customer("wmA", "甲")
    await world.say("发票怎么开？", chat=GROUP, customer="wmA", at=T)
    await world.say("订单页申请", chat=GROUP, member="zhangsan", at=T + timedelta(minutes=1))
    await world.say("那抬头怎么改？", chat=GROUP, customer="wmA", at=T + timedelta(minutes=2))
    assert [w.status for w in await world.waits()] == ["answered", "waiting"]


async def test_an_answer_outside_hours_counts_only_business_time_and_breaches_after_the_deadline(
    engine: AsyncEngine,
) -> None:
    world = await make_world(engine, cn(2026, 11, 23, 17, 50))
    await world.customer("wmA", "甲")
    await world.say("明天能发货吗？", chat=GROUP, customer="wmA", at=cn(2026, 11, 23, 17, 50))
    # Answered at 21:00 the same evening: 10 business minutes, before the 09:20 deadline, so no breach.
    await world.say("可以", chat=GROUP, member="lisi", at=cn(2026, 11, 23, 21, 0))
    [wait] = await world.waits()
    assert (wait.business_response_s, wait.response_s, wait.breached) == (600, 3 * 3600 + 600, False)
