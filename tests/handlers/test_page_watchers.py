"""Intake feeds a page of messages to the watchers with facts loaded once per page: answers stay per message."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.events import ChatKind
from storage.models.groups import Group
from storage.models.service import ChatWait
from storage.models.surveys import Survey
from tests.handlers.service_support import Harness

GROUP = "wrPAGE001"


@pytest.fixture
def h(engine: AsyncEngine) -> Harness:
    return Harness(engine)


async def _surveys(h: Harness) -> list[Survey]:
    async with h.sessions() as session:
        return list((await session.execute(select(Survey).order_by(Survey.id))).scalars())


async def _waits(h: Harness) -> list[ChatWait]:
    async with h.sessions() as session:
        return list((await session.execute(select(ChatWait).order_by(ChatWait.id))).scalars())


async def test_a_survey_asked_mid_page_is_answered_by_a_later_message_when_both_come_in_one_page(h: Harness) -> None:
    await h.customer("wmAMY")
    await h.feed(h.kf_says("wmAMY", "5"), h.kf_ended("wmAMY"), h.kf_says("wmAMY", "⭐⭐⭐⭐ 满意", menu_id="csat_4"))
    [answered] = await _surveys(h)
    assert (answered.status, answered.score) == ("answered", 4)


async def test_a_pending_survey_is_answered_when_other_customers_share_the_page(h: Harness) -> None:
    await h.customer("wmBEN")
    await h.customer("wmCAT")
    await h.feed(h.kf_ended("wmBEN"))
    await h.feed(h.kf_says("wmCAT", "5"), h.kf_says("wmBEN", "我买了5件"), h.kf_says("wmBEN", "5分"))
    [done] = await _surveys(h)
    assert (done.status, done.score, done.answer_text) == ("answered", 5, "5分")


async def test_each_question_in_a_group_page_opens_a_wait_for_the_group_owner_when_the_group_is_known(
    h: Harness,
) -> None:
    async with h.sessions() as session:
        session.add(Group(chat_id=GROUP, name="售后群", owner_userid="lisi"))
        await session.commit()
    await h.feed(
        h.archive_says("wmDAN", "请问什么时候发货？", ChatKind.GROUP, GROUP),
        h.archive_says("wmEVE", "请问能退货吗？", ChatKind.GROUP, GROUP),
        h.archive_says("wmDAN", "请问还有别的颜色吗？", ChatKind.GROUP, GROUP),
        h.archive_says("wmFAY", "请问这个多少钱？", ChatKind.GROUP, "wrNOBODY"),
    )
    waits = await _waits(h)
    assert [(w.chat_id, w.owner_userid, w.question) for w in waits] == [
        (GROUP, "lisi", "请问什么时候发货？"),
        (GROUP, "lisi", "请问能退货吗？"),
        ("wrNOBODY", None, "请问这个多少钱？"),
    ]
