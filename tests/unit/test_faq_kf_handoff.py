"""After a kf hand-off call: record the new state and notify on the code, or fall back to the pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.delivery.kf_handoff import after_kf_trans, after_kf_trans_refused
from bot.delivery.wire import Claim, build_request
from services.faq.handoff import queued_notice
from services.faq.notify import HandoffAlert
from services.outbox.messages import Text
from services.outbox.queue import queue_kf_trans
from storage.db import make_sessionmaker
from storage.models.messages import KfSession
from storage.models.outbox import KfWindow, Outbox, OutboxKind
from tests.support.kf_trans import answer_trans

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
KFID, CUSTOMER = "wkKF0001", "wmCUST1"


@pytest.fixture
async def sessions(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    yield make_sessionmaker(engine)


async def claim_of(sessions: async_sessionmaker[AsyncSession], servicer: str) -> Claim:
    async with sessions() as session, session.begin():
        row_id = await queue_kf_trans(session, T0, KFID, CUSTOMER, servicer, notice=Text("正在为您转接人工客服…"))
        row = await session.get(Outbox, row_id)
        assert row is not None
    return Claim(
        row_id=row.id,
        attempt=1,
        kind=row.kind,
        api=row.api,
        recipient=row.recipient,
        payload=dict(row.payload),
        result={},
        idempotency_key=row.idempotency_key,
        priority=row.priority,
        lease_until=T0 + timedelta(minutes=1),
        first_attempt_at=T0,
        unknown_since=None,
    )


async def outbox(sessions: async_sessionmaker[AsyncSession], kind: str) -> list[Outbox]:
    async with sessions() as session:
        return list((await session.execute(select(Outbox).where(Outbox.kind == kind).order_by(Outbox.id))).scalars())


async def test_the_trans_body_names_the_servicer_only_when_a_person_is_chosen(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    to_person = build_request(await claim_of(sessions, "wangwu"), 1000002, 14400)
    assert to_person.path == "/cgi-bin/kf/service_state/trans"
    assert to_person.body == {
        "open_kfid": KFID,
        "external_userid": CUSTOMER,
        "service_state": 3,
        "servicer_userid": "wangwu",
    }
    to_pool = build_request(await claim_of(sessions, ""), 1000002, 14400)
    assert to_pool.body == {"open_kfid": KFID, "external_userid": CUSTOMER, "service_state": 2}


async def test_a_successful_hand_off_records_state_three_and_tells_the_customer_on_the_returned_code(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    claim = await claim_of(sessions, "wangwu")
    async with sessions() as session, session.begin():
        await after_kf_trans(session, claim, {"errcode": 0, "msg_code": "CODE123"}, T0)
    async with sessions() as session:
        kf = await session.get(KfSession, (KFID, CUSTOMER))
        window = await session.get(KfWindow, (KFID, CUSTOMER))
    assert kf is not None and (kf.state, kf.servicer_userid) == (3, "wangwu")
    assert window is not None and (window.session_state, window.servicer_userid) == (3, "wangwu")
    [notice] = await outbox(sessions, OutboxKind.KF_EVENT_MESSAGE)
    assert notice.recipient == "CODE123" and notice.payload["content"] == "正在为您转接人工客服…"
    assert datetime.fromisoformat(notice.payload["code_expires_at"]) > T0 + timedelta(hours=47)


async def test_the_session_goes_to_the_pool_when_wecom_says_the_rep_is_not_a_servicer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    claim = await claim_of(sessions, "zhangsan")
    async with sessions() as session, session.begin():
        await after_kf_trans_refused(session, claim, 95014, T0)
        await after_kf_trans_refused(session, claim, 95014, T0)  # a replayed outcome queues it once
        await after_kf_trans_refused(session, claim, 95016, T0)  # an illegal transition is final
    rows = await outbox(sessions, OutboxKind.KF_TRANS)
    assert [(r.payload["service_state"], r.payload["servicer_userid"]) for r in rows] == [(3, "zhangsan"), (2, "")]
    assert rows[1].payload["notice"]["content"] == "正在为您转接人工客服…"


@pytest.mark.parametrize(
    ("days", "shown"),
    [((1, 2, 3, 4, 5), "周一至周五 09:00-18:00"), ((6, 7), "周六、周日 09:00-18:00"), ((1, 3, 5), "周一、周三、周五")],
)
def test_the_queued_notice_names_the_business_hours_when_a_hand_off_waits(days: tuple[int, ...], shown: str) -> None:
    notice = queued_notice(days, "09:00", "18:00")
    assert shown in notice and "已为您排队" in notice


async def test_the_owner_is_told_the_customer_waits_in_the_pool_when_the_hand_off_falls_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alert = HandoffAlert(to=("zhangsan",), why="客户要求人工服务", customer_id=None, zone="Asia/Shanghai", key="k1")
    async with sessions() as session, session.begin():
        row_id = await queue_kf_trans(session, T0, KFID, CUSTOMER, "zhangsan", alert=alert.to_payload())
    await answer_trans(sessions, row_id, T0, errcode=95014)
    assert not await outbox(sessions, OutboxKind.APP_MESSAGE)  # nothing is said until the pool has the session
    [_, pool] = await outbox(sessions, OutboxKind.KF_TRANS)
    assert pool.payload["alert"]["fallback_from"] == "zhangsan"
    await answer_trans(sessions, pool.id, T0)
    [told] = await outbox(sessions, OutboxKind.APP_MESSAGE)
    assert told.recipient == "zhangsan" and "待接入池" in told.payload["content"]
    assert "已转给您接待" not in told.payload["content"]
