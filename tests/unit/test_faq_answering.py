"""The FAQ use case on a real database and the real matcher: answers, suggestions, hand-offs, repeats, unanswered."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.clock import ManualClock
from services.conversations.recording import PersonRef, Said, record_many
from services.faq import kb, unanswered
from services.faq.answering import Outcome, Policy, Question, handle_question
from services.faq.engine import Deciding, FaqEngine
from services.faq.handoff import Handoff, is_handoff_request
from services.faq.match_settings import MatcherSettings
from services.faq.matcher import build_matcher_async
from services.faq.questions import rep_for
from services.faq.types import KbItem
from services.outbox.messages import Text
from services.outbox.queue import queue_kf_reply
from services.tickets.opening import TicketPolicy
from storage.db import make_sessionmaker
from storage.models.customers import Customer
from storage.models.faq import FaqReply, GroupFaqMode, UnansweredGroup
from storage.models.groups import Group
from storage.models.masstasks import MassTask
from storage.models.outbox import Outbox, OutboxKind
from storage.models.tickets import Ticket
from storage.repos import faq as faq_repo
from storage.repos import messages, windows
from tests.support.kf_trans import answer_trans

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
KFID, ROOM = "wkKF0001", "wrGROUP01"
KB = """
- id: return_policy
  questions: [退货流程是什么, 怎么申请退货]
  answer: 签收后 7 天内可在订单页申请退货。
- id: invoice
  questions: [发票怎么开, 怎么开发票]
  answer: 在订单详情页点“申请发票”，电子发票 1 个工作日内发到邮箱。
- id: class_replay
  questions: [课程回放在哪看, 直播有回放吗]
  answer: 直播结束 2 小时后可在“我的课程”里看回放。
"""
_ids = itertools.count(1)


@pytest.fixture
async def sessions(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    sessions = make_sessionmaker(engine)
    async with sessions() as session, session.begin():
        await kb.import_items(session, kb.parse_yaml(KB), T0)
        session.add(Group(chat_id=ROOM, name="会员群", owner_userid="zhangsan"))
    yield sessions


@pytest.fixture
def faq() -> FaqEngine:
    async def build(items: Sequence[KbItem]) -> Deciding:
        return await build_matcher_async(items, MatcherSettings(answer=0.95, suggest=0.4))

    return FaqEngine(build)


POLICY = Policy(handoff=Handoff(on_duty=("wangwu",), after_misses=3))


def kf_said(text: str, at: datetime, customer: str = "wmCUST1") -> Said:
    return Said("kf", "kf", KFID, f"m{next(_ids)}", "customer", customer, PersonRef(customer), None, "text", text, at)


def group_said(text: str, at: datetime, customer: str = "wmCUST1") -> Said:
    return Said(
        "archive", "group", ROOM, f"g{next(_ids)}", "customer", customer, PersonRef(customer), None, "text", text, at
    )


def member_said(text: str, at: datetime, chat_id: str = ROOM) -> Said:
    return Said("archive", "group", chat_id, f"g{next(_ids)}", "member", "zhangsan", None, "zhangsan", "text", text, at)


async def ask(
    sessions: async_sessionmaker[AsyncSession],
    faq: FaqEngine,
    said: Said,
    clock: ManualClock,
    policy: Policy = POLICY,
    then: Sequence[Said] = (),
) -> Outcome:
    """Store the question (and what was said right after it, as one archive page would), then handle it."""
    async with sessions() as session, session.begin():
        await record_many(session, [said, *then], clock.now())
        stored = await messages.by_source_key(session, said.source_key)
        assert stored is not None
        person = said.person or PersonRef()
        q = Question(
            stored.id,
            stored.customer_id,
            said.channel,
            said.chat_type,
            said.chat_id,
            said.text,
            said.sent_at,
            person.external_userid,
            person.openid,
            said.member_userid,
        )
        return await handle_question(session, faq, q, policy, await rep_for(session, q), clock.now())


async def rows(sessions: async_sessionmaker[AsyncSession], model: Any, **where: Any) -> list[Any]:
    async with sessions() as session:
        stmt = select(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return list((await session.execute(stmt.order_by(model.id))).scalars())


async def set_owner(sessions: async_sessionmaker[AsyncSession], external_userid: str, owner: str) -> None:
    async with sessions() as session, session.begin():
        customer = (
            await session.execute(select(Customer).where(Customer.external_userid == external_userid))
        ).scalar_one()
        customer.owner_userid = owner


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


async def test_a_hand_off_opens_one_ticket_named_in_the_reps_alert_when_tickets_are_on(
    sessions: async_sessionmaker[AsyncSession], faq: FaqEngine
) -> None:
    clock = ManualClock(T0)
    policy = replace(POLICY, handoff=replace(POLICY.handoff, tickets=TicketPolicy()))
    await ask(sessions, faq, kf_said("你好", T0 - timedelta(minutes=1)), clock, policy)
    await set_owner(sessions, "wmCUST1", "lisi")
    outcome = await ask(sessions, faq, kf_said("转人工", T0), clock, policy)
    assert (outcome.decision, outcome.member_userid) == ("handoff", "lisi")
    [ticket] = await rows(sessions, Ticket)
    assert (ticket.source, ticket.assignee_userid, ticket.status, ticket.chat_id) == ("handoff", "lisi", "open", KFID)
    assert ticket.subject == "转人工：客户要求人工服务"
    # One alert, not two: the hand-off alert carries the conversation and names the ticket.
    [trans] = await rows(sessions, Outbox, kind=OutboxKind.KF_TRANS)
    await answer_trans(sessions, trans.id, T0)
    [alert] = await rows(sessions, Outbox, kind=OutboxKind.APP_MESSAGE)
    assert f"已建工单 T{ticket.id}" in alert.payload["content"] and f"解决 T{ticket.id}" in alert.payload["content"]


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


async def test_unsure_questions_are_grouped_by_similarity_when_recorded_as_unanswered(
    sessions: async_sessionmaker[AsyncSession], faq: FaqEngine
) -> None:
    clock = ManualClock(T0)
    await ask(sessions, faq, kf_said("宠物可以带进店吗", T0, "wmA"), clock)
    await ask(sessions, faq, kf_said("宠物可以带进店吗？", T0, "wmB"), clock)
    await ask(sessions, faq, kf_said("宠物能带进店吗", T0, "wmC"), clock)
    await ask(sessions, faq, kf_said("你们卖猫粮吗", T0, "wmD"), clock)
    async with sessions() as session:
        groups = await unanswered.list_groups(session)
    assert [(g.label, g.count) for g in groups] == [("宠物可以带进店吗", 3), ("你们卖猫粮吗", 1)]


async def test_promote_and_add_variant_change_the_answer_without_a_new_engine_when_the_kb_moves(
    sessions: async_sessionmaker[AsyncSession], faq: FaqEngine
) -> None:
    clock = ManualClock(T0)
    before = await ask(sessions, faq, kf_said("宠物可以带进店吗", T0, "wmA"), clock)
    assert before.decision == "silent"
    built_from = faq.revision
    async with sessions() as session, session.begin():
        [group] = await unanswered.list_groups(session)
        item = await unanswered.promote(session, group.id, "欢迎牵绳的宠物进店。", clock.now(), entry_id="pets")
    assert item.questions == ("宠物可以带进店吗",)
    after = await ask(sessions, faq, kf_said("宠物可以带进店吗", T0, "wmB"), clock)
    assert (after.decision, after.entry_id) == ("answered", "pets") and faq.revision != built_from
    async with sessions() as session:
        [closed] = await unanswered.list_groups(session, include_closed=True)
    assert (closed.status, closed.entry_id) == ("promoted", "pets")

    unsure = await ask(sessions, faq, kf_said("能开专票吗", T0, "wmC"), clock)
    # Between the thresholds, in kf with room in the window: a "did you mean" menu to the customer, not to a rep.
    assert (unsure.decision, unsure.entry_id, unsure.member_userid) == ("suggested", "invoice", None)
    assert unsure.reason == "menu"
    async with sessions() as session, session.begin():
        assert await kb.add_variant(session, "invoice", "能开专票吗", clock.now())
    taught = await ask(sessions, faq, kf_said("能开专票吗", T0, "wmD"), clock)
    assert (taught.decision, taught.entry_id) == ("answered", "invoice")


async def test_the_group_owner_gets_a_private_suggestion_when_a_customer_asks_in_a_group(
    sessions: async_sessionmaker[AsyncSession], faq: FaqEngine
) -> None:
    clock = ManualClock(T0)
    outcome = await ask(sessions, faq, group_said("课程回放在哪看", T0), clock)
    assert (outcome.decision, outcome.member_userid) == ("suggested", "zhangsan")
    [alert] = await rows(sessions, Outbox, kind=OutboxKind.APP_MESSAGE)
    assert alert.recipient == "zhangsan"
    assert "群「会员群」" in alert.payload["content"] and "我的课程" in alert.payload["content"]
    assert "匹配度：100%" in alert.payload["content"]


async def test_no_suggestion_is_sent_when_a_member_already_answered_after_the_question(
    sessions: async_sessionmaker[AsyncSession], faq: FaqEngine
) -> None:
    clock = ManualClock(T0)
    answer = member_said("回放在我的课程里", T0 + timedelta(seconds=20))
    outcome = await ask(sessions, faq, group_said("课程回放在哪看", T0), clock, then=[answer])
    assert (outcome.decision, outcome.reason) == ("silent", "member_answered")
    assert not await rows(sessions, Outbox)


async def test_a_one_group_mass_task_is_queued_for_the_owner_when_the_group_is_in_task_mode(
    sessions: async_sessionmaker[AsyncSession], faq: FaqEngine
) -> None:
    clock = ManualClock(T0)
    async with sessions() as session, session.begin():
        await faq_repo.set_group_mode(session, ROOM, GroupFaqMode.GROUP_SEND_TASK, "manager", T0)
    outcome = await ask(sessions, faq, group_said("发票怎么开", T0), clock)
    assert outcome.decision == "task"
    [task] = await rows(sessions, MassTask)
    assert (task.sender, task.chat_type, task.text) == (
        "zhangsan",
        "group",
        "在订单详情页点“申请发票”，电子发票 1 个工作日内发到邮箱。",
    )
    [row] = await rows(sessions, Outbox, kind=OutboxKind.MASS_TASK)
    assert row.payload["chat_type"] == "group"
    async with sessions() as session, session.begin():
        await faq_repo.set_group_mode(session, ROOM, GroupFaqMode.OFF, "manager", T0)
    off = await ask(sessions, faq, group_said("课程回放在哪看", T0, "wmOther"), clock)
    assert (off.decision, off.reason) == (None, "group_off")


async def test_oa_answers_with_a_customer_service_message_when_the_follower_asks(
    sessions: async_sessionmaker[AsyncSession], faq: FaqEngine
) -> None:
    clock = ManualClock(T0)
    said = Said(
        "oa",
        "oa",
        "oa:oFOLLOW1",
        "oa1",
        "customer",
        "oFOLLOW1",
        PersonRef(openid="oFOLLOW1"),
        None,
        "text",
        "直播有回放吗",
        T0,
    )
    outcome = await ask(sessions, faq, said, clock)
    assert outcome.decision == "answered"
    [reply] = await rows(sessions, Outbox, kind=OutboxKind.OA_MESSAGE)
    assert reply.recipient == "oFOLLOW1" and "我的课程" in reply.payload["content"]


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
