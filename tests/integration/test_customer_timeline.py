"""The whole conversation on a customer's timeline, on a real database: the customer's, the rep's and the bot's
messages, ticket events, survey asks and answers, purchases, in time order with their side, paged in SQL; the
scores on the profile; a customer named by id, external_userid or openid."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.conversations.recording import BotReply, PersonRef, Said, record_bot_replies, record_many
from services.customers.identity import customer_for_openid
from services.customers.profiles import CustomerProfile, customer_profile
from services.customers.refs import UnknownCustomer, resolve_customer, resolve_many
from services.customers.timeline import EntryKind
from services.tickets import changes as ticket_changes
from services.tickets import opening as tickets
from storage.db import make_sessionmaker
from storage.models.customers import Customer
from storage.models.purchases import Purchase
from storage.models.service import ChurnScore
from storage.models.surveys import CustomerScore, Survey
from storage.models.tickets import TicketSource
from storage.repos import timeline

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
KF, AMY = "wkKF01", "wmAMY"


def minute(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def said(n: int, kind: str, sender: str, text: str, member: str | None = None) -> Said:
    return Said("kf", "kf", KF, f"m{n}", kind, sender, PersonRef(AMY), member, "text", text, minute(n))


@pytest.fixture
async def sessions(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    yield make_sessionmaker(engine)


async def a_whole_conversation(sessions: async_sessionmaker[AsyncSession]) -> int:
    """A kf conversation: question, bot answer, hand-off ticket, rep reply, solved, CSAT asked and answered."""
    async with sessions() as session, session.begin():
        await record_many(session, [said(1, "customer", AMY, "发票怎么开")], minute(1))
        customer = await resolve_customer(session, AMY)
        customer.name = "艾米"
        await timeline.add_event_once(
            session, customer_id=customer.id, kind=EntryKind.KF_ENTER, occurred_at=T0, source_key="enter:1"
        )
        answer = {"type": "text", "content": "在订单页申请"}
        await record_bot_replies(session, [BotReply("kf", KF, PersonRef(AMY), answer, "o1")], minute(2))
        ticket = await tickets.open_ticket(
            session,
            minute(3),
            tickets.TicketRequest(
                customer_id=customer.id, subject="转人工：客户要求人工服务", source=TicketSource.HANDOFF
            ),
        )
        await ticket_changes.claim(session, minute(4), ticket.id, "wangwu")
        await record_many(session, [said(5, "member", "wangwu", "您好，我来处理", member="wangwu")], minute(5))
        await ticket_changes.solve(session, minute(6), ticket.id, "wangwu", force=True)
        menu = {"type": "menu", "head": "请为本次服务打分", "items": [{"id": "csat_5", "text": "非常满意"}]}
        await record_bot_replies(session, [BotReply("kf", KF, PersonRef(AMY), menu, "o2")], minute(7))
        session.add(
            Survey(
                customer_id=customer.id, kind="csat", trigger="ticket_solved", ticket_id=ticket.id, channel="kf",
                chat_id=KF, status="answered", asked_at=minute(7), expires_at=minute(7 + 48 * 60), score=5,
                answered_at=minute(8),
            )
        )  # fmt: skip
        await timeline.add_event_once(
            session,
            customer_id=customer.id,
            kind=EntryKind.CSAT_ANSWERED,
            occurred_at=minute(8),
            source_key="survey:1:answered",
            detail={"score": 5, "trigger": "ticket_solved", "ticket_id": ticket.id},
        )
        await ticket_changes.close(session, minute(9), ticket.id, "bot")
        session.add(
            Purchase(customer_id=customer.id, reference="NO1", item="课程", amount_cents=19900, purchased_at=minute(10))
        )
        session.add(CustomerScore(customer_id=customer.id, csat=5, csat_at=minute(8), nps=6, nps_at=minute(1)))
        reasons = ["近 30 天消息比平时少 80%"]
        session.add(ChurnScore(customer_id=customer.id, risk=0.62, reasons=reasons, at_risk=True, scored_at=minute(10)))
        return customer.id


async def profile_of(sessions: async_sessionmaker[AsyncSession], customer_id: int, **paging: object) -> CustomerProfile:
    async with sessions() as session:
        found = await customer_profile(session, customer_id, **paging)  # type: ignore[arg-type]
    assert found is not None
    return found


async def test_the_timeline_holds_every_side_of_the_conversation_in_time_order_when_bot_rep_and_tickets_took_part(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    profile = await profile_of(sessions, await a_whole_conversation(sessions))
    seen = [(t.side, t.kind, t.text) for t in profile.timeline]
    assert seen == [
        ("system", "kf_enter", "进入微信客服会话"),
        ("customer", "message", "发票怎么开"),
        ("bot", "message", "在订单页申请"),
        ("system", "ticket_opened", "工单 T1 已创建：转人工：客户要求人工服务"),
        ("member", "ticket_claimed", "工单 T1 由 wangwu 接手"),
        ("member", "message", "您好，我来处理"),
        ("member", "ticket_solved", "工单 T1 已由 wangwu 解决"),
        ("bot", "message", "[菜单消息] 请为本次服务打分 非常满意"),
        ("bot", "survey_asked", "发出满意度评价调查（工单解决后，工单 T1）"),
        ("customer", "csat_answered", "满意度评价：5/5 分（工单解决后，工单 T1）"),
        ("system", "ticket_closed", "工单 T1 已关闭"),
        ("customer", "purchase", "购买 课程（¥199.00）"),
    ]
    assert [t.at for t in profile.timeline] == sorted(t.at for t in profile.timeline)
    assert (profile.timeline_total, profile.timeline_page, profile.timeline_pages) == (12, 1, 1)


async def test_pages_count_back_from_the_newest_and_since_keeps_later_entries_when_the_timeline_is_long(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    customer_id = await a_whole_conversation(sessions)
    newest = await profile_of(sessions, customer_id, page=1, limit=5)
    assert [t.kind for t in newest.timeline] == [
        "message", "survey_asked", "csat_answered", "ticket_closed", "purchase"
    ]  # fmt: skip
    assert len(newest.timeline) == 5 and newest.timeline[-1].kind == "purchase"
    assert (newest.timeline_total, newest.timeline_pages) == (12, 3)
    oldest = await profile_of(sessions, customer_id, page=3, limit=5)
    assert [t.kind for t in oldest.timeline] == ["kf_enter", "message"]
    after = await profile_of(sessions, customer_id, since=minute(8), limit=50)
    assert [t.kind for t in after.timeline] == ["csat_answered", "ticket_closed", "purchase"]
    assert after.timeline_total == 3
    beyond = await profile_of(sessions, customer_id, page=9, limit=5)
    assert beyond.timeline == [] and beyond.timeline_total == 12


async def test_the_profile_shows_latest_scores_and_churn_risk_with_reasons_when_they_are_known(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    profile = await profile_of(sessions, await a_whole_conversation(sessions))
    scores = profile.scores
    assert (scores["csat"], scores["nps"], scores["nps_category"]) == (5, 6, "detractor")
    assert (scores["churn_risk"], scores["churn_at_risk"]) == (0.62, True)
    assert scores["churn_reasons"] == ["近 30 天消息比平时少 80%"] and scores["csat_at"] == minute(8)


async def test_a_customer_is_found_by_id_external_userid_or_openid_and_unknown_names_fail_clearly(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    customer_id = await a_whole_conversation(sessions)
    async with sessions() as session, session.begin():
        follower = await customer_for_openid(session, "oFOLLOWER1", T0)
        assert (await resolve_customer(session, str(customer_id))).id == customer_id
        assert (await resolve_customer(session, AMY)).id == customer_id
        assert (await resolve_customer(session, "oFOLLOWER1")).id == follower.id
        many = await resolve_many(session, [str(customer_id), "oFOLLOWER1", "nobody"])
        assert {ref: c.id for ref, c in many.items()} == {str(customer_id): customer_id, "oFOLLOWER1": follower.id}
        with pytest.raises(UnknownCustomer, match="找不到客户「wmNOBODY」"):
            await resolve_customer(session, "wmNOBODY")
        with pytest.raises(UnknownCustomer):
            await resolve_customer(session, "99999")
    assert isinstance(follower, Customer)
