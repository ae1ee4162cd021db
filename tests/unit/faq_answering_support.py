"""Shared pieces of the FAQ answering tests: a small KB, who says what, and asking a question end to end."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.clock import ManualClock
from services.conversations.recording import PersonRef, Said, record_many
from services.faq import kb
from services.faq.answer_types import Outcome, Policy, Question
from services.faq.answering import handle_question
from services.faq.engine import Deciding, FaqEngine
from services.faq.handoff import Handoff
from services.faq.match_settings import MatcherSettings
from services.faq.matcher import build_matcher_async
from services.faq.questions import rep_for
from services.faq.types import KbItem
from storage.db import make_sessionmaker
from storage.models.customers import Customer
from storage.models.groups import Group
from storage.repos import messages

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


async def seeded_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A database holding the small KB above and the members' group."""
    sessions = make_sessionmaker(engine)
    async with sessions() as session, session.begin():
        await kb.import_items(session, kb.parse_yaml(KB), T0)
        session.add(Group(chat_id=ROOM, name="会员群", owner_userid="zhangsan"))
    return sessions


def small_engine() -> FaqEngine:
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
