"""The SLA tick with an injected clock: warnings and escalations land at business-hours moments, each exactly once."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config.service import HolidaySettings
from bot.events import ChatKind
from services.service.sla import STAGE_ESCALATED, STAGE_OVERDUE, STAGE_WARNED
from storage.models.service import ServiceAlert
from tests.unit.service_world import GROUP, KF, SERVICE, cn, make_world


async def test_friday_1755_question_before_qingming_warns_and_escalates_on_tuesday_morning(engine: AsyncEngine) -> None:
    # Friday 2026-04-03 17:55; Saturday, Sunday and Qingming Monday (04-06) are off; Tuesday 04-07 is worked.
    world = await make_world(engine, cn(2026, 4, 3, 17, 55))
    await world.customer("wmLEMON", "Lemon柠檬", owner="zhangsan")
    await world.say("请问发票怎么开？", chat=GROUP, customer="wmLEMON", at=cn(2026, 4, 3, 17, 55))

    [wait] = await world.waits()
    # Default policy: 30 business minutes, warn 10 before: 5 minutes on Friday, the rest on Tuesday.
    assert wait.due_at == cn(2026, 4, 7, 9, 25)
    assert wait.next_check_at == cn(2026, 4, 7, 9, 15)
    assert (wait.owner_userid, wait.policy, wait.stage) == ("zhangsan", "default", 0)

    for quiet in (cn(2026, 4, 3, 17, 59), cn(2026, 4, 4, 12, 0), cn(2026, 4, 6, 10, 0), cn(2026, 4, 7, 9, 14, 59)):
        await world.tick(quiet)
    assert await world.alerts() == []

    await world.tick(cn(2026, 4, 7, 9, 15))
    [(to, text)] = await world.alerts()
    assert to == "zhangsan"
    assert "客户在等你回复" in text and "Lemon柠檬" in text and "群「训练营1群」" in text
    assert "「请问发票怎么开？」" in text and "4月7日 09:25" in text
    assert "工作时间 20 分钟" in text and "3 天 15 小时 20 分钟" in text

    await world.tick(cn(2026, 4, 7, 9, 20))
    await world.tick(cn(2026, 4, 7, 9, 24, 59))
    assert len(await world.alerts()) == 1  # nothing twice, nothing early

    await world.tick(cn(2026, 4, 7, 9, 25))
    alerts = await world.alerts()
    assert [to for to, _ in alerts] == ["zhangsan", "lisi"]
    assert "客户等待已超时" in alerts[1][1] and "负责人：张三" in alerts[1][1]

    await world.tick(cn(2026, 4, 7, 9, 54))
    assert len(await world.alerts()) == 2
    await world.tick(cn(2026, 4, 7, 9, 55))  # 30 business minutes after the deadline: level 2
    await world.tick(cn(2026, 4, 7, 9, 56))
    alerts = await world.alerts()
    assert [to for to, _ in alerts] == ["zhangsan", "lisi", "zhaoliu"]
    assert "第 2 级升级" in alerts[2][1]

    # Level 3 is due at 10:25; the tick comes late (12:00) and still sends it once.
    await world.tick(cn(2026, 4, 7, 12, 0))
    await world.tick(cn(2026, 4, 7, 12, 1))
    assert [to for to, _ in await world.alerts()] == ["zhangsan", "lisi", "zhaoliu", "boss"]
    [wait] = await world.waits()
    assert wait.stage == STAGE_ESCALATED + 2
    # Resolution: 24 business hours after Friday 17:55 is Thursday 04-09 14:55; then the overdue hook, once.
    assert wait.next_check_at == cn(2026, 4, 9, 14, 55)
    await world.tick(cn(2026, 4, 9, 14, 54))
    assert world.overdue == []
    await world.tick(cn(2026, 4, 9, 14, 55))
    await world.tick(cn(2026, 4, 10, 9, 0))
    assert world.overdue == [wait.id]
    [wait] = await world.waits()
    assert (wait.stage, wait.next_check_at, wait.status) == (STAGE_OVERDUE, None, "waiting")
    async with world.sessions() as session:
        keys = [a.alert_key for a in (await session.execute(select(ServiceAlert).order_by(ServiceAlert.id))).scalars()]
    assert keys == [
        f"wait:{wait.id}:stage1:zhangsan",
        f"wait:{wait.id}:stage2:lisi",
        f"wait:{wait.id}:stage3:zhaoliu",
        f"wait:{wait.id}:stage4:boss",
        f"wait:{wait.id}:overdue",
    ]


async def test_a_reply_before_the_deadline_closes_the_wait_and_stops_every_alert(engine: AsyncEngine) -> None:
    world = await make_world(engine, cn(2026, 4, 3, 17, 55))
    await world.customer("wmLEMON", "Lemon柠檬", owner="zhangsan")
    await world.say("请问发票怎么开？", chat=GROUP, customer="wmLEMON", at=cn(2026, 4, 3, 17, 55))
    await world.tick(cn(2026, 4, 7, 9, 15))
    await world.say("@Lemon柠檬 在订单页申请开票", chat=GROUP, member="zhangsan", at=cn(2026, 4, 7, 9, 20))

    [wait] = await world.waits()
    assert (wait.status, wait.answered_by, wait.breached) == ("answered", "zhangsan", False)
    assert wait.business_response_s == 25 * 60  # 5 minutes on Friday, 20 on Tuesday
    assert wait.response_s == (cn(2026, 4, 7, 9, 20) - cn(2026, 4, 3, 17, 55)).total_seconds()
    for later in (cn(2026, 4, 7, 9, 25), cn(2026, 4, 7, 10, 0), cn(2026, 4, 10, 9, 0)):
        await world.tick(later)
    assert [to for to, _ in await world.alerts()] == ["zhangsan"]
    assert world.overdue == []


async def test_vip_in_kf_on_friday_evening_is_warned_on_the_make_up_sunday(engine: AsyncEngine) -> None:
    # Friday 2026-09-18 17:58; Saturday is off but Sunday 09-20 is a make-up workday.
    world = await make_world(engine, cn(2026, 9, 18, 17, 58))
    await world.customer("wmDEER", "小鹿", owner="zhangsan", tags=("VIP", "直播间"))
    await world.say("我的订单什么时候发货？", chat=KF, customer="wmDEER", kind=ChatKind.KF, at=cn(2026, 9, 18, 17, 58))

    [wait] = await world.waits()
    assert (wait.policy, wait.owner_userid) == ("vip", "zhangsan")
    # VIP: 5 business minutes, warned 2 before: 2 minutes on Friday, then Sunday 09:00.
    assert (wait.next_check_at, wait.due_at) == (cn(2026, 9, 20, 9, 1), cn(2026, 9, 20, 9, 3))
    await world.tick(cn(2026, 9, 19, 12, 0))
    assert await world.alerts() == []
    await world.tick(cn(2026, 9, 20, 9, 1))
    [(to, text)] = await world.alerts()
    assert to == "zhangsan" and "微信客服" in text
    await world.tick(cn(2026, 9, 20, 9, 3))
    assert [to for to, _ in await world.alerts()] == ["zhangsan", "lisi"]

    # The kf servicer answers: the wait closes late (breached), counting only Friday's 2 and Sunday's 10 minutes.
    await world.say(
        "rep:马上为您查询", chat=KF, customer="wmDEER", member="wangwu", kind=ChatKind.KF, at=cn(2026, 9, 20, 9, 10)
    )
    [wait] = await world.waits()
    assert (wait.status, wait.answered_by, wait.breached, wait.business_response_s) == ("answered", "wangwu", True, 720)


async def test_a_config_holiday_in_2027_moves_the_deadline_of_a_one_to_one_question(engine: AsyncEngine) -> None:
    service = SERVICE.model_copy(
        update={"holidays": (HolidaySettings(date=date(2027, 1, 1), kind="holiday", name="元旦"),)}
    )
    world = await make_world(engine, cn(2026, 12, 31, 17, 55), service)
    await world.customer("wmJIE", "阿杰", owner="lisi")
    chat = "single:lisi:wmJIE"
    await world.say(
        "退款到账了吗", chat=chat, customer="wmJIE", member="lisi", kind=ChatKind.SINGLE, at=cn(2026, 12, 31, 17, 55)
    )

    [wait] = await world.waits()
    # Thursday 17:55: 5 minutes, then the config holiday (Friday 2027-01-01) and the weekend.
    assert (wait.owner_userid, wait.due_at, wait.next_check_at) == (
        "lisi",
        cn(2027, 1, 4, 9, 25),
        cn(2027, 1, 4, 9, 15),
    )
    await world.tick(cn(2027, 1, 1, 10, 0))
    await world.tick(cn(2027, 1, 4, 9, 14))
    assert await world.alerts() == []
    await world.tick(cn(2027, 1, 4, 9, 15))
    [(to, text)] = await world.alerts()
    assert to == "lisi" and "与 李四 的单聊" in text


async def test_a_customer_with_no_owner_warns_the_on_duty_members(engine: AsyncEngine) -> None:
    world = await make_world(engine, cn(2026, 11, 23, 10, 0))
    await world.customer("wmNEW", "新客户")
    await world.say("在吗？想咨询一下", chat=KF, customer="wmNEW", kind=ChatKind.KF, at=cn(2026, 11, 23, 10, 0))
    [wait] = await world.waits()
    assert wait.owner_userid is None
    await world.tick(cn(2026, 11, 23, 10, 20))
    assert [to for to, _ in await world.alerts()] == ["wangwu"]
    [wait] = await world.waits()
    assert wait.stage == STAGE_WARNED


async def test_an_faq_answer_closes_the_wait_as_answered_by_the_bot_at_tick_time(engine: AsyncEngine) -> None:
    from storage.models.faq import FaqReply
    from storage.repos import messages

    world = await make_world(engine, cn(2026, 11, 23, 10, 0))
    customer_id = await world.customer("wmFAQ", "问问")
    key = await world.say("营业时间是几点？", chat=KF, customer="wmFAQ", kind=ChatKind.KF, at=cn(2026, 11, 23, 10, 0))
    async with world.sessions.begin() as session:
        question = await messages.by_source_key(session, key)
        assert question is not None
        session.add(
            FaqReply(
                message_id=question.id,
                customer_id=customer_id,
                channel="kf",
                chat_id=KF,
                entry_id="hours",
                decision="answered",
                confidence=0.9,
                created_at=cn(2026, 11, 23, 10, 0, 2),
            )
        )
    report = await world.tick(cn(2026, 11, 23, 10, 0, 30))
    assert report.closed_by_bot == 1
    [wait] = await world.waits()
    assert (wait.status, wait.answered_by, wait.response_s, wait.breached) == ("answered", "bot", 2.0, False)
    await world.tick(cn(2026, 11, 23, 11, 0))
    assert await world.alerts() == []


async def test_ticks_in_between_and_repeated_ticks_never_send_twice(engine: AsyncEngine) -> None:
    world = await make_world(engine, cn(2026, 11, 23, 10, 0))
    await world.customer("wmA", "甲", owner="zhangsan")
    await world.say("怎么退货？", chat=GROUP, customer="wmA", at=cn(2026, 11, 23, 10, 0))
    moment = cn(2026, 11, 23, 10, 0)
    while moment < cn(2026, 11, 23, 12, 0):
        await world.tick(moment)
        moment += timedelta(minutes=1)
    # Warned at 10:20, managers at 10:30, level 2 at 11:00, level 3 at 11:30: four alerts, once each.
    assert [to for to, _ in await world.alerts()] == ["zhangsan", "lisi", "zhaoliu", "boss"]


async def test_a_kf_session_taken_after_the_question_warns_its_servicer(engine: AsyncEngine) -> None:
    from services.conversations.recording import note_kf_session_change

    world = await make_world(engine, cn(2026, 11, 23, 10, 0))
    customer_id = await world.customer("wmK", "小K")
    await world.say("请问可以改地址吗？", chat=KF, customer="wmK", kind=ChatKind.KF, at=cn(2026, 11, 23, 10, 0))
    async with world.sessions.begin() as session:
        await note_kf_session_change(
            session, KF, "wmK", customer_id, cn(2026, 11, 23, 10, 5), state=3, servicer_userid="zhaoliu"
        )
    await world.tick(cn(2026, 11, 23, 10, 20))
    assert [to for to, _ in await world.alerts()] == ["zhaoliu"]
    [wait] = await world.waits()
    assert wait.owner_userid == "zhaoliu"
