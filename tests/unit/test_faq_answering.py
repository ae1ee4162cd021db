"""The FAQ use case on a real database and the real matcher: answers, suggestions, hand-offs, repeats, unanswered."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.clock import ManualClock
from services.faq.answer_types import Outcome
from services.faq.engine import FaqEngine
from services.faq.handoff import Handoff, handoff_subject, is_handoff_request
from services.outbox.messages import Text
from services.outbox.queue import queue_kf_reply
from services.tickets.opening import TicketPolicy
from storage.models.faq import FaqReply, UnansweredGroup
from storage.models.outbox import Outbox, OutboxKind
from storage.models.tickets import Ticket
from storage.repos import windows
from tests.support.kf_trans import answer_trans
from tests.unit.faq_answering_support import (
    KFID,
    POLICY,
    T0,
    ask,
    kf_said,
    rows,
    seeded_sessions,
    set_owner,
    small_engine,
)


@pytest.fixture
async def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return await seeded_sessions(engine)


@pytest.fixture
def faq() -> FaqEngine:
    return small_engine()


async def test_kf_answers_with_a_line_on_reaching_a_person_when_the_match_is_confident(
    sessions: async_sessionmaker[AsyncSession], faq: FaqEngine
) -> None:
    clock = ManualClock(T0)
    outcome = await ask(sessions, faq, kf_said("发票怎么开", T0), clock)
    assert (outcome.decision, outcome.entry_id) == ("answered", "invoice")
    [reply] = await rows(sessions, Outbox, kind=OutboxKind.KF_MESSAGE)
    assert reply.recipient == f"{KFID}/wmCUST1"
    assert reply.payload["content"].startswith("在订单详情页点“申请发票”")
    assert reply.payload["content"].endswith("如需人工服务，请回复“人工”")
    assert [(r.decision, r.outbox_id) for r in await rows(sessions, FaqReply)] == [("answered", reply.id)]


async def test_the_same_entry_is_not_answered_twice_when_asked_again_within_the_repeat_window(
    sessions: async_sessionmaker[AsyncSession], faq: FaqEngine
) -> None:
    clock = ManualClock(T0)
    await ask(sessions, faq, kf_said("发票怎么开", T0), clock)
    clock.advance(timedelta(minutes=10))
    again = await ask(sessions, faq, kf_said("怎么开发票", clock.now()), clock)
    assert (again.decision, again.reason) == ("silent", "repeat")
    clock.advance(timedelta(minutes=25))
    later = await ask(sessions, faq, kf_said("怎么开发票", clock.now()), clock)
    assert later.decision == "answered"
    assert len(await rows(sessions, Outbox, kind=OutboxKind.KF_MESSAGE)) == 2


async def test_a_rep_gets_a_suggestion_instead_when_the_kf_window_has_no_room_left(
    sessions: async_sessionmaker[AsyncSession], faq: FaqEngine
) -> None:
    clock = ManualClock(T0)
    await ask(sessions, faq, kf_said("你好", T0), clock)  # the customer exists from here on
    await set_owner(sessions, "wmCUST1", "lisi")
    async with sessions() as session, session.begin():  # five replies already waiting fill the allowance
        for n in range(5):
            await queue_kf_reply(session, T0, KFID, "wmCUST1", Text(f"回复 {n}"))
    outcome = await ask(sessions, faq, kf_said("发票怎么开", T0 + timedelta(seconds=5)), clock)
    assert (outcome.decision, outcome.reason, outcome.member_userid) == ("suggested", "no_window", "lisi")
    assert len(await rows(sessions, Outbox, kind=OutboxKind.KF_MESSAGE)) == 5
    [alert] = await rows(sessions, Outbox, kind=OutboxKind.APP_MESSAGE)
    assert alert.recipient == "lisi"
    assert "在订单详情页点“申请发票”" in alert.payload["content"] and "「发票怎么开」" in alert.payload["content"]


async def test_asking_for_a_person_hands_the_session_to_the_owner_with_the_conversation_when_kf(
    sessions: async_sessionmaker[AsyncSession], faq: FaqEngine
) -> None:
    clock = ManualClock(T0)
    await ask(sessions, faq, kf_said("发票怎么开", T0), clock)
    await set_owner(sessions, "wmCUST1", "lisi")
    outcome = await ask(sessions, faq, kf_said("转人工！", T0 + timedelta(minutes=1)), clock)
    assert (outcome.decision, outcome.member_userid) == ("handoff", "lisi")
    [trans] = await rows(sessions, Outbox, kind=OutboxKind.KF_TRANS)
    assert trans.recipient == f"{KFID}/wmCUST1" and trans.api == "/cgi-bin/kf/service_state/trans"
    assert trans.payload["service_state"] == 3 and trans.payload["servicer_userid"] == "lisi"
    assert trans.payload["notice"]["content"] == "正在为您转接人工客服…"
    assert not await rows(sessions, Outbox, kind=OutboxKind.APP_MESSAGE)  # told once WeCom has accepted the trans
    assert not await rows(sessions, UnansweredGroup)  # a request for a person is not a question the KB lacks
    again = await ask(sessions, faq, kf_said("人工", T0 + timedelta(minutes=2)), clock)
    assert (again.decision, again.reason) == (None, "handoff_in_flight")  # the first hand-off has not gone yet
    await answer_trans(sessions, trans.id, T0 + timedelta(minutes=3))
    [alert] = await rows(sessions, Outbox, kind=OutboxKind.APP_MESSAGE)
    assert alert.recipient == "lisi" and "客户转人工" in alert.payload["content"]
    assert "已转给您接待" in alert.payload["content"]
    assert "客户：「发票怎么开」" in alert.payload["content"] and "客户：「转人工！」" in alert.payload["content"]


async def _handed_off_with_tickets(
    sessions: async_sessionmaker[AsyncSession], faq: FaqEngine, text: str
) -> tuple[Outcome, Ticket]:
    """lisi's kf customer, with tickets on, says `text`: the outcome and the one ticket it opened."""
    clock = ManualClock(T0)
    policy = replace(POLICY, handoff=replace(POLICY.handoff, tickets=TicketPolicy()))
    await ask(sessions, faq, kf_said("你好", T0 - timedelta(minutes=1)), clock, policy)
    await set_owner(sessions, "wmCUST1", "lisi")
    outcome = await ask(sessions, faq, kf_said(text, T0), clock, policy)
    [ticket] = await rows(sessions, Ticket)
    return outcome, ticket


async def test_a_hand_off_opens_one_ticket_named_in_the_reps_alert_when_tickets_are_on(
    sessions: async_sessionmaker[AsyncSession], faq: FaqEngine
) -> None:
    outcome, ticket = await _handed_off_with_tickets(sessions, faq, "转人工")
    assert (outcome.decision, outcome.member_userid) == ("handoff", "lisi")
    assert (ticket.source, ticket.assignee_userid, ticket.status, ticket.chat_id) == ("handoff", "lisi", "open", KFID)
    assert ticket.subject == "转人工：客户要求人工服务"
    # One alert, not two: the hand-off alert carries the conversation and names the ticket.
    [trans] = await rows(sessions, Outbox, kind=OutboxKind.KF_TRANS)
    await answer_trans(sessions, trans.id, T0)
    [alert] = await rows(sessions, Outbox, kind=OutboxKind.APP_MESSAGE)
    assert f"已建工单 T{ticket.id}" in alert.payload["content"] and f"解决 T{ticket.id}" in alert.payload["content"]


async def test_a_hand_off_tickets_subject_quotes_what_the_customer_said_beside_the_request(
    sessions: async_sessionmaker[AsyncSession], faq: FaqEngine
) -> None:
    outcome, ticket = await _handed_off_with_tickets(sessions, faq, "我的订单一直没发货，找人工")
    assert outcome.decision == "handoff"
    assert ticket.subject == "我的订单一直没发货，找人工（客户要求人工服务）"


async def test_a_hand_off_after_misses_names_the_last_question_in_the_tickets_subject(
    sessions: async_sessionmaker[AsyncSession], faq: FaqEngine
) -> None:
    clock = ManualClock(T0)
    policy = replace(POLICY, handoff=replace(POLICY.handoff, after_misses=2, tickets=TicketPolicy()))
    await ask(sessions, faq, kf_said("你们卖猫粮吗", T0), clock, policy)
    second = await ask(sessions, faq, kf_said("宠物可以带进店吗", T0 + timedelta(seconds=30)), clock, policy)
    assert second.decision == "handoff"
    [ticket] = await rows(sessions, Ticket)
    assert ticket.subject == "宠物可以带进店吗（连续 2 个问题未能自动解答）"


@pytest.mark.parametrize(
    ("why", "words", "subject"),
    [
        ("客户要求人工服务", "人工", "转人工：客户要求人工服务"),
        ("客户要求人工服务", "你好，我要转人工", "转人工：客户要求人工服务"),
        ("客户要求人工服务", "", "转人工：客户要求人工服务"),
        ("客户要求人工服务", "  快递\n三天没动了，\t找人工 ", "快递 三天没动了， 找人工（客户要求人工服务）"),
        ("x", "问" * 80, "问" * 59 + "…（x）"),
    ],
)
def test_a_hand_off_subject_quotes_the_customers_words_cut_to_one_line(why: str, words: str, subject: str) -> None:
    assert handoff_subject(why, words) == subject


async def test_repeated_misses_hand_the_customer_to_the_on_duty_rep_when_there_is_no_owner(
    sessions: async_sessionmaker[AsyncSession], faq: FaqEngine
) -> None:
    clock = ManualClock(T0)
    policy = replace(POLICY, handoff=replace(POLICY.handoff, after_misses=2))
    first = await ask(sessions, faq, kf_said("你们卖猫粮吗", T0), clock, policy)
    assert first.decision == "silent" and first.reason in ("low_score", "no_match")
    second = await ask(sessions, faq, kf_said("宠物可以带进店吗", T0 + timedelta(seconds=30)), clock, policy)
    assert (second.decision, second.member_userid) == ("handoff", "wangwu")
    assert [t.payload["servicer_userid"] for t in await rows(sessions, Outbox, kind=OutboxKind.KF_TRANS)] == ["wangwu"]
    # After the hand-off the count starts again: one more miss is not enough.
    async with sessions() as session, session.begin():
        await windows.note_kf_session_state(session, KFID, "wmCUST1", 1, "")
    third = await ask(sessions, faq, kf_said("周末营业吗", T0 + timedelta(minutes=1)), clock, policy)
    assert third.decision == "silent"


async def test_nothing_happens_when_the_customer_is_only_chatting(
    sessions: async_sessionmaker[AsyncSession], faq: FaqEngine
) -> None:
    clock = ManualClock(T0)
    for text in ("谢谢", "好的", "👍👍", "收到"):
        outcome = await ask(sessions, faq, kf_said(text, T0), clock)
        assert outcome.decision is None
    assert not await rows(sessions, Outbox) and not await rows(sessions, FaqReply)
    assert not await rows(sessions, UnansweredGroup)


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("人工", True),
        ("转人工", True),
        ("转人工！！", True),
        ("我要投诉", True),
        ("请帮我转接人工客服", True),
        ("人工智能课程怎么报名", False),
        ("投诉电话是多少，我的快递三天了还没到，到底怎么回事", False),
        ("发票怎么开", False),
        ("你好，我要转人工", True),
        ("帮我找个人工", True),
        ("人工客服在吗", True),
        ("能转人工吗", True),
        ("您好，请帮我转一下人工客服，谢谢", True),
        ("人工费多少钱", False),
        ("人工服务时间是几点", False),
        # A request of its own beside a complaint or a question is a hand-off; a keyword inside one is not.
        ("我的订单一直没发货，找人工", True),
        ("发货太慢了！转人工！", True),
        ("人工，发票怎么开", True),
        ("人工智能，怎么报名", False),
        ("快递三天没到。人工费怎么算？", False),
        ("我要投诉，快递三天没动了", False),  # a complaint with its details: the complaint flow's, not a hand-off
    ],
)
def test_a_short_request_for_a_person_is_a_hand_off_when_nothing_else_is_asked(text: str, wanted: bool) -> None:
    assert is_handoff_request(text) is wanted


async def test_misses_queue_the_customer_in_the_pool_and_tell_the_managers_when_nobody_can_take_them(
    sessions: async_sessionmaker[AsyncSession], faq: FaqEngine
) -> None:
    clock = ManualClock(T0)
    nobody = Handoff(after_misses=2, managers=("zhaoliu",), queued_notice="已为您排队，工作时间内回复")
    policy = replace(POLICY, handoff=nobody)
    await ask(sessions, faq, kf_said("你们卖猫粮吗", T0), clock, policy)
    second = await ask(sessions, faq, kf_said("宠物可以带进店吗", T0 + timedelta(seconds=30)), clock, policy)
    assert (second.decision, second.member_userid, second.alerted) == ("handoff", None, ("zhaoliu",))
    [trans] = await rows(sessions, Outbox, kind=OutboxKind.KF_TRANS)
    assert (trans.payload["service_state"], trans.payload["servicer_userid"]) == (2, "")
    assert trans.payload["notice"]["content"] == "已为您排队，工作时间内回复"
    [reply] = await rows(sessions, FaqReply, decision="handoff")
    assert reply.member_userid is None and reply.outbox_id == trans.id
    await answer_trans(sessions, trans.id, T0 + timedelta(minutes=1))
    [alert] = await rows(sessions, Outbox, kind=OutboxKind.APP_MESSAGE)
    assert alert.recipient == "zhaoliu" and "待接入池" in alert.payload["content"]
    assert "宠物可以带进店吗" in alert.payload["content"]


async def test_the_on_duty_rep_gets_the_suggestion_when_kf_menus_are_turned_off(
    sessions: async_sessionmaker[AsyncSession], faq: FaqEngine
) -> None:
    clock = ManualClock(T0)
    unsure = await ask(sessions, faq, kf_said("能开专票吗", T0, "wmC"), clock, replace(POLICY, menus=False))
    assert (unsure.decision, unsure.entry_id, unsure.member_userid) == ("suggested", "invoice", "wangwu")
    assert not await rows(sessions, Outbox, kind=OutboxKind.KF_MESSAGE)
