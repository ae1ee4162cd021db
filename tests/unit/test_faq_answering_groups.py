"""FAQ answering beyond kf: unanswered questions grouped, the KB taught live, group suggestions and tasks, the OA."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.clock import ManualClock
from services.conversations.recording import PersonRef, Said
from services.faq import kb, unanswered
from services.faq.engine import FaqEngine
from storage.models.faq import GroupFaqMode
from storage.models.masstasks import MassTask
from storage.models.outbox import Outbox, OutboxKind
from storage.repos import faq as faq_repo
from tests.unit.faq_answering_support import (
    ROOM,
    T0,
    ask,
    group_said,
    kf_said,
    member_said,
    rows,
    seeded_sessions,
    small_engine,
)


@pytest.fixture
async def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return await seeded_sessions(engine)


@pytest.fixture
def faq() -> FaqEngine:
    return small_engine()


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
