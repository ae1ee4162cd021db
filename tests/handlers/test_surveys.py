"""Surveys through the real dispatcher: asked at kf session end, on solving and after purchases; answers, expiry,
low-score escalation, complaints, statistics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.events import ChatKind
from bot.policies import survey_policy
from services.customers.profiles import customer_profile
from services.surveys import stats as survey_stats
from services.surveys import triggers as survey_triggers
from storage.models.customers import Member
from storage.models.purchases import Purchase
from storage.models.service import ServiceAlert
from storage.models.surveys import CustomerScore, Survey
from storage.models.tickets import Ticket
from storage.repos import tickets as repo
from tests.handlers.service_support import KF, MANAGER, OWNER, T0, Harness


@pytest.fixture
def h(engine: AsyncEngine) -> Harness:
    return Harness(engine)


async def _surveys(h: Harness) -> list[Survey]:
    async with h.sessions() as session:
        return list((await session.execute(select(Survey).order_by(Survey.id))).scalars())


async def _tickets(h: Harness) -> list[Ticket]:
    async with h.sessions() as session:
        return list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())


async def test_kf_session_end_sends_a_star_menu_on_the_end_code_and_a_menu_click_is_the_answer(h: Harness) -> None:
    customer = await h.customer("wmAMY", name="艾米")
    await h.feed(h.kf_ended("wmAMY", code="END-CODE-1"))
    [row] = await h.outbox("kf_event_message")
    assert row.recipient == "END-CODE-1"
    assert row.payload["type"] == "menu" and [i["id"] for i in row.payload["items"]] == [
        "csat_5",
        "csat_4",
        "csat_3",
        "csat_2",
        "csat_1",
    ]
    assert row.payload["code_expires_at"] == (T0 + timedelta(seconds=20)).isoformat()
    [pending] = await _surveys(h)
    assert (pending.status, pending.kind, pending.trigger, pending.channel, pending.chat_id) == (
        "pending",
        "csat",
        "kf_session_end",
        "kf",
        KF,
    )
    h.advance(minutes=3)
    await h.feed(h.kf_says("wmAMY", "⭐⭐⭐⭐ 满意", menu_id="csat_4"))
    [answered] = await _surveys(h)
    assert (answered.status, answered.score, answered.answered_at) == ("answered", 4, T0 + timedelta(minutes=3))
    async with h.sessions() as session:
        score = await session.get(CustomerScore, customer.id)
        profile = await customer_profile(session, customer.id)
    assert score is not None and score.csat == 4
    assert profile is not None
    assert [t.text for t in profile.timeline if t.kind == "csat_answered"] == ["满意度评价：4/5 分（客服会话结束后）"]
    thanks = [r for r in await h.outbox("kf_message") if r.payload.get("content") == "感谢您的评价！"]
    assert len(thanks) == 1 and thanks[0].recipient == f"{KF}/wmAMY"
    assert await _tickets(h) == []


async def test_a_score_with_no_pending_survey_is_just_a_message_and_non_answers_leave_it_pending(h: Harness) -> None:
    await h.customer("wmBEN")
    await h.feed(h.kf_says("wmBEN", "5"))
    assert await _surveys(h) == []
    await h.feed(h.kf_ended("wmBEN"))
    await h.feed(h.kf_says("wmBEN", "5点上课吗"), h.kf_says("wmBEN", "我买了5件"))
    [still] = await _surveys(h)
    assert still.status == "pending"
    await h.feed(h.kf_says("wmBEN", "５分"))
    [done] = await _surveys(h)
    assert (done.status, done.score, done.answer_text) == ("answered", 5, "５分")


async def test_a_low_score_alerts_owner_and_manager_at_once_and_opens_a_ticket(h: Harness) -> None:
    customer = await h.customer("wmCID", name="阿西")
    await h.feed(h.kf_ended("wmCID"))
    await h.feed(h.kf_says("wmCID", "⭐ 非常不满意", menu_id="csat_1"))
    [ticket] = await _tickets(h)
    assert (ticket.source, ticket.priority, ticket.assignee_userid, ticket.customer_id) == (
        "low_score",
        "high",
        OWNER,
        customer.id,
    )
    for userid in (OWNER, MANAGER):
        low = [t for t in await h.app_texts(userid) if t.startswith("【客户低分：CSAT 1/5】")]
        assert len(low) == 1, userid
        assert f"已开工单 T{ticket.id}" in low[0] and "客户原话：「⭐ 非常不满意」" in low[0]
    # One alert per person: the low-score alert names the ticket, so no second "新工单" alert in the same second.
    assert [t for t in await h.app_texts(OWNER) if f"T{ticket.id}" in t] == low
    async with h.sessions() as session:
        kept = (await session.execute(select(ServiceAlert.member_userid).order_by(ServiceAlert.id))).scalars()
        assert list(kept) == [OWNER, MANAGER]
        assert len(await repo.message_ids_of(session, ticket.id)) == 1
    apology = [r.payload.get("content") for r in await h.outbox("kf_message")]
    assert "很抱歉没有让您满意，我们已安排专人跟进，会尽快联系您。" in apology


async def test_差评_answering_a_survey_is_a_score_not_a_second_complaint_ticket(h: Harness) -> None:
    await h.customer("wmDAN")
    await h.feed(h.kf_ended("wmDAN"))
    await h.feed(h.kf_says("wmDAN", "差评"))
    assert [(t.source, t.status) for t in await _tickets(h)] == [("low_score", "open")]
    # Without a pending survey the same words are a complaint; while one is open, further ones join it.
    await h.feed(h.kf_says("wmDAN", "我要投诉你们，差评！"))
    await h.feed(h.kf_says("wmDAN", "再不处理我就去12315投诉"))
    found = await _tickets(h)
    assert [(t.source, t.status) for t in found] == [("low_score", "open"), ("complaint", "open")]
    async with h.sessions() as session:
        assert len(await repo.message_ids_of(session, found[1].id)) == 2


async def test_rep_solves_over_the_app_and_the_customer_is_asked_then_a_low_score_reopens_it(h: Harness) -> None:
    customer = await h.customer("wmEVA")
    await h.feed(h.kf_says("wmEVA", "我要投诉，东西坏了"))
    [ticket] = await _tickets(h)
    await h.feed(h.member_says("wangwu", f"解决 T{ticket.id}"))
    assert (await h.app_texts("wangwu"))[
        -1
    ] == f"工单 T{ticket.id} 由 lisi 负责，不是你的；如需接手请先回复「认领 T{ticket.id}」"
    await h.feed(h.member_says(OWNER, f"解决T{ticket.id}"))
    sent = "机器人已在微信客服会话中向客户发送满意度评价"
    assert (await h.app_texts(OWNER))[-1] == f"工单 T{ticket.id} 已标记为已解决，{sent}。"
    [survey] = await _surveys(h)
    assert (survey.trigger, survey.ticket_id, survey.channel) == ("ticket_solved", ticket.id, "kf")
    [menu] = [r for r in await h.outbox("kf_message") if r.payload.get("type") == "menu"]
    assert menu.recipient == f"{KF}/wmEVA"
    h.advance(hours=5)
    await h.feed(h.kf_says("wmEVA", "2分，还是不太满意"))
    [reopened] = await _tickets(h)
    assert (reopened.id, reopened.status, reopened.reopened) == (ticket.id, "open", 1)
    assert any(f"已重新打开工单 T{ticket.id}" in t for t in await h.app_texts(MANAGER))
    # The reopen and the low score are one alert, not two near-duplicates in the same second.
    assert len([t for t in await h.app_texts(MANAGER) if f"T{ticket.id}" in t]) == 1
    async with h.sessions() as session:
        profile = await customer_profile(session, customer.id)
    assert profile is not None
    assert [t.text for t in profile.timeline if t.kind == "csat_answered"] == [
        f"满意度评价：2/5 分（工单解决后，工单 T{ticket.id}）"
    ]


async def test_rep_commands_claim_pending_list_and_clear_refusals(h: Harness) -> None:
    await h.customer("wmFAY", name="菲菲")
    await h.feed(h.kf_says("wmFAY", "太差了，我要投诉"))
    [ticket] = await _tickets(h)
    ref = f"T{ticket.id}"
    for text in (
        f"认领 {ref}",
        f"认领{ref}",
        f"认领 {ticket.id}",
        "认领 T999",
        "认领 abc",
        "挂起",
        "工单",
        f"挂起 {ref}",
    ):
        await h.feed(h.member_says("wangwu", text))
    answers = await h.app_texts("wangwu")
    assert answers[0].startswith(f"已认领工单 {ref}：太差了，我要投诉")
    assert answers[1] == answers[2] == f"工单 {ref} 已经由你负责"
    assert answers[3] == "没有找到工单 T999"
    assert answers[4].startswith("没看懂工单号「abc」")
    assert answers[5].startswith("工单指令：")
    assert answers[6] == f"你负责的工单（1）：\n{ref} 处理中 · 菲菲：太差了，我要投诉"
    assert answers[7] == f"工单 {ref} 已挂起（等待客户或第三方）。处理完成后回复「解决 {ref}」。"
    await h.feed(h.member_says("wangwu", f"解决 {ref}"), h.member_says("wangwu", f"解决 {ref}"))
    assert (await h.app_texts("wangwu"))[-1] == f"工单 {ref} 已解决"
    await h.feed(h.member_says("wangwu", "工单很多吗"))  # not a command: nobody answers
    assert len(await h.app_texts("wangwu")) == 10


async def test_surveys_expire_after_48_hours_and_a_late_answer_is_a_message(h: Harness) -> None:
    await h.customer("wmGIL")
    await h.feed(h.kf_ended("wmGIL"))
    h.advance(hours=47, minutes=59)
    async with h.sessions() as session:
        assert await survey_triggers.expire_pending(session, h.now()) == 0
    h.advance(minutes=1)
    async with h.sessions() as session:
        assert await survey_triggers.expire_pending(session, h.now()) == 1
        await session.commit()
    await h.feed(h.kf_says("wmGIL", "5"))
    [expired] = await _surveys(h)
    assert (expired.status, expired.score) == ("expired", None)


async def test_one_pending_survey_per_customer(h: Harness) -> None:
    await h.customer("wmHAL")
    await h.feed(h.kf_ended("wmHAL", code="C1"))
    h.advance(minutes=10)
    await h.feed(h.kf_ended("wmHAL", code="C2"))
    assert len(await _surveys(h)) == 1 and len(await h.outbox("kf_event_message")) == 1
    # An expired one no longer blocks the next (even before the expiry job has run).
    h.advance(hours=49)
    await h.feed(h.kf_ended("wmHAL", code="C3"))
    assert [s.status for s in await _surveys(h)] == ["expired", "pending"]


async def test_after_a_purchase_nps_is_asked_once_and_where_the_bot_cannot_post_the_rep_is_asked(h: Harness) -> None:
    kf_customer = await h.customer("wmIVY")
    group_customer = await h.customer("wmJOE")
    async with h.sessions() as session:
        session.add(Purchase(customer_id=kf_customer.id, reference="A-1", purchased_at=T0))
        session.add(Purchase(customer_id=group_customer.id, reference="A-2", purchased_at=T0))
        session.add(Purchase(customer_id=kf_customer.id, reference="OLD", purchased_at=T0 - timedelta(days=30)))
        await session.commit()
    policy = survey_policy(h.settings)
    h.advance(days=2, hours=23)
    async with h.sessions() as session:
        assert await survey_triggers.ask_after_purchases(session, h.now(), policy) == 0  # not yet 3 days
    # wmJOE writes in kf no more: his window closes; wmIVY writes again just before the survey.
    h.advance(hours=1)
    await h.feed(h.kf_says("wmIVY", "收到货了"))
    async with h.sessions() as session:
        assert await survey_triggers.ask_after_purchases(session, h.now(), policy) == 2  # NPS by default
        await session.commit()
    async with h.sessions() as session:
        assert await survey_triggers.ask_after_purchases(session, h.now(), policy) == 0  # asked once per purchase
    by_customer = {s.customer_id: s for s in await _surveys(h)}
    assert by_customer[kf_customer.id].kind == "nps" and by_customer[kf_customer.id].channel == "kf"
    nps_text = [r for r in await h.outbox("kf_message") if r.recipient == f"{KF}/wmIVY"][-1]
    assert nps_text.payload == {"type": "text", "content": policy.nps_question}
    assert by_customer[group_customer.id].channel == "archive"
    note = (await h.app_texts(OWNER))[-1]
    assert note.startswith("【请邀请客户评分】") and "0-10 分" in note
    # The customer answers in their 1:1 chat with the rep (read through the archive); a group does not count.
    await h.feed(h.archive_says("wmJOE", "9分", ChatKind.GROUP, "wrGROUP1"))
    assert by_customer[group_customer.id].status == "pending"
    await h.feed(h.archive_says("wmJOE", "9分", ChatKind.SINGLE, "single:lisi:wmJOE"))
    answered = {s.customer_id: s for s in await _surveys(h)}[group_customer.id]
    assert (answered.status, answered.score) == ("answered", 9)


async def test_score_stats(h: Harness) -> None:
    policy = survey_policy(h.settings)
    answers = [("wmK1", "5"), ("wmK2", "4"), ("wmK3", "1"), ("wmK4", None)]
    for external, answer in answers:
        await h.customer(external)
        await h.feed(h.kf_ended(external))
        if answer:
            await h.feed(h.kf_says(external, answer))
    nps_answers = {"wmN1": "10", "wmN2": "9", "wmN3": "7", "wmN4": "3"}
    async with h.sessions() as session:
        for n, external in enumerate(nps_answers):
            session.add(Purchase(customer_id=(await h.customer(external)).id, reference=f"P{n}", purchased_at=T0))
        await session.commit()
    h.advance(days=3)
    for external in nps_answers:
        await h.feed(h.kf_says(external, "在吗"))
    async with h.sessions() as session:
        assert await survey_triggers.ask_after_purchases(session, h.now(), policy) == 4
        await session.commit()
    for external, answer in nps_answers.items():
        await h.feed(h.kf_says(external, answer))
    async with h.sessions() as session:
        stats = (await survey_stats.score_stats(session, T0, T0 + timedelta(days=4))).to_dict()
    assert (stats["asked"], stats["answered"]) == (8, 7)
    assert stats["response_rate"] == 0.875
    assert stats["csat"] == {"count": 3, "average": 3.33, "distribution": {"1": 1, "2": 0, "3": 0, "4": 1, "5": 1}}
    assert stats["nps"] == {"count": 4, "promoters": 2, "passives": 1, "detractors": 1, "score": 25.0}
    assert stats["low_scores"] == 2


async def test_solving_a_group_ticket_sends_the_rep_one_note_to_ask_when_the_bot_cannot_post_there(h: Harness) -> None:
    await h.customer("wmKIM")
    h.advance(days=3)  # the kf window is closed: the bot can reach wmKIM nowhere itself
    await h.feed(h.archive_says("wmKIM", "我要投诉，群里没人回", ChatKind.GROUP, "wrGROUP1"))
    [ticket] = await _tickets(h)
    before = len(await h.app_texts(OWNER))
    await h.feed(h.member_says(OWNER, f"解决 T{ticket.id}"))
    [note] = (await h.app_texts(OWNER))[before:]
    assert note.startswith("【请邀请客户评分】") and f"工单 T{ticket.id} 已标记为已解决" in note
    assert "已向客户发送" not in note


async def test_solving_a_kf_ticket_the_bot_cannot_post_in_promises_no_survey_it_did_not_send(h: Harness) -> None:
    await h.customer("wmLEO")
    await h.feed(h.kf_says("wmLEO", "我要投诉，快递三天没动"))
    [ticket] = await _tickets(h)
    h.advance(days=3)  # the 48 h kf window is over
    await h.feed(h.member_says(OWNER, f"解决 T{ticket.id}"))
    answer = (await h.app_texts(OWNER))[-1]
    assert answer == f"工单 T{ticket.id} 已标记为已解决。微信客服会话结束时，机器人会向客户发送满意度评价。"
    assert not any("请邀请客户评分" in t for t in await h.app_texts(OWNER))
    assert await _surveys(h) == []  # nothing pending, so the session-end menu can still be asked


async def test_a_low_score_alert_names_the_rep_by_display_name_when_the_member_is_known(h: Harness) -> None:
    async with h.sessions() as session:
        session.add(Member(userid=OWNER, name="李四"))
        await session.commit()
    await h.customer("wmMAY", name="小美")
    await h.feed(h.kf_ended("wmMAY"))
    await h.feed(h.kf_says("wmMAY", "⭐ 非常不满意", menu_id="csat_1"))
    [low] = [t for t in await h.app_texts(MANAGER) if t.startswith("【客户低分")]
    assert "负责人：李四" in low and "负责人：lisi" not in low
