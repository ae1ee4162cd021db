"""Follow-ups on SQLite and PostgreSQL: due reminders once, rep commands 完成/推迟/跟进, the digest, and the
campaign path that creates them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from campaigns import manage, runs
from campaigns.policy import CampaignPolicy
from services.service import followups
from services.service.calendar import BusinessCalendar, WorkingHours
from storage.db import make_sessionmaker
from storage.models.campaigns import Followup
from storage.models.customers import Customer, Member
from storage.models.outbox import Outbox, OutboxKind
from storage.models.purchases import Purchase
from storage.models.service import ChurnScore

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


async def _world(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    sessions = make_sessionmaker(engine)
    async with sessions() as s, s.begin():
        s.add_all([Member(userid="lisi", name="李四"), Member(userid="wangwu", name="王五")])
        s.add_all(
            [
                Customer(id=1, external_userid="wm1", name="张三", owner_userid="lisi", first_seen_at=NOW),
                Customer(id=2, external_userid="wm2", name="赵六", owner_userid="wangwu", first_seen_at=NOW),
            ]
        )
    return sessions


async def _messages(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str]]:
    async with sessions() as session:
        rows = await session.scalars(select(Outbox).where(Outbox.kind == OutboxKind.APP_MESSAGE).order_by(Outbox.id))
        return [(r.recipient, str(r.payload.get("content", r.payload))) for r in rows]


async def test_due_followup_reminds_its_rep_once_and_closes_when_done(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    async with sessions() as s, s.begin():
        fid = await followups.add_followup(
            s, NOW, customer_id=1, member_userid="lisi", due_at=NOW + timedelta(hours=1), note="回访使用体验"
        )
    assert fid is not None
    for moment in (NOW, NOW + timedelta(hours=1), NOW + timedelta(hours=2)):
        async with sessions() as s, s.begin():
            await followups.remind_due(s, moment)
    sent = await _messages(sessions)
    assert len(sent) == 1 and sent[0][0] == "lisi" and f"完成 F{fid}" in sent[0][1] and "张三" in sent[0][1]
    async with sessions() as s, s.begin():
        with pytest.raises(followups.FollowupError, match="没有找到"):
            await followups.complete(s, NOW, fid, "wangwu")  # another rep's follow-up
    async with sessions() as s, s.begin():
        later = await followups.postpone(s, NOW + timedelta(hours=2), fid, "lisi", 2)
        assert later.due_at == NOW + timedelta(days=2, hours=2)
    async with sessions() as s, s.begin():
        await followups.complete(s, NOW, fid, "lisi")
    async with sessions() as s:
        mine, total = await followups.list_followups(s, member="lisi")
    assert (mine, total) == ([], 0)


async def test_digest_lists_followups_and_at_risk_customers_when_the_day_starts(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    async with sessions() as s, s.begin():
        await followups.add_followup(s, NOW, customer_id=1, member_userid="lisi", due_at=NOW, note="打个电话")
        s.add(ChurnScore(customer_id=2, risk=0.8, reasons=[], features={}, at_risk=True, scored_at=NOW))
    async with sessions() as s, s.begin():
        reps = await followups.send_digest(s, NOW, "Asia/Shanghai", 0.5)
    assert reps == 2
    sent = dict(await _messages(sessions))
    assert "打个电话" in sent["lisi"] and "流失风险 80%「赵六」" in sent["wangwu"]


async def test_followup_campaign_creates_one_followup_per_customer_when_the_automation_fires(
    engine: AsyncEngine,
) -> None:
    sessions = await _world(engine)
    async with sessions() as s, s.begin():
        s.add(
            Purchase(customer_id=1, reference="p1", item="猫粮", amount_cents=100, purchased_at=NOW - timedelta(days=3))
        )
    policy = CampaignPolicy(zone="Asia/Shanghai", calendar=BusinessCalendar("Asia/Shanghai", WorkingHours()))
    document = {
        "name": "购后回访",
        "kind": "automation",
        "trigger": {"event": "purchase", "days": 3, "at": "09:00"},
        "path": "followup",
        "message": "{{ name }} 3 天前买了{{ last_item }}，问问用得怎么样",
    }
    async with sessions() as s, s.begin():
        await manage.create_campaign(s, document, NOW - timedelta(hours=1), policy)
    await runs.tick(sessions, NOW, policy)
    await runs.tick(sessions, NOW + timedelta(minutes=1), policy)
    async with sessions() as s:
        rows = list(await s.scalars(select(Followup)))
    assert [(r.member_userid, r.customer_id, r.source, r.note) for r in rows] == [
        ("lisi", 1, "campaign", "张三 3 天前买了猫粮，问问用得怎么样")
    ]


async def test_rep_commands_complete_postpone_and_list_when_sent_to_the_app(engine: AsyncEngine) -> None:
    from tests.handlers.service_support import Harness

    h = Harness(engine)
    customer = await h.customer("wmF1", owner="lisi", name="张三")
    async with h.sessions() as s, s.begin():
        if await s.get(Member, "lisi") is None:
            s.add(Member(userid="lisi", name="李四"))
    async with h.sessions() as s, s.begin():
        first = await followups.add_followup(
            s, h.now(), customer_id=customer.id, member_userid="lisi", due_at=h.now(), note="回访"
        )
        second = await followups.add_followup(
            s, h.now(), customer_id=customer.id, member_userid="lisi", due_at=h.now(), note="送优惠券"
        )
    await h.feed(
        h.member_says("lisi", "跟进"),
        h.member_says("lisi", f"完成 F{first}"),
        h.member_says("lisi", f"推迟 F{second} 2天"),
        h.member_says("lisi", "完成 F999"),
    )
    answers = await h.app_texts("lisi")
    assert answers[0].startswith("你有 2 条待跟进") and "回访" in answers[0]
    assert answers[1] == f"跟进 F{first} 已完成。"
    assert answers[2].startswith(f"跟进 F{second} 已推迟到 ")
    assert answers[3].startswith("没有找到跟进 F999")
