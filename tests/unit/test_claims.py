"""Claims on a manual clock and a real database: deferral with reasons, pauses, and leases that ran out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config.sender import SenderSettings
from bot.delivery.claims import ClaimBatch, Claimer
from bot.metrics import Metrics
from services.clock import ManualClock
from services.outbox.mass_queue import queue_mass_task
from services.outbox.messages import MassContent, Text
from services.outbox.queue import queue_app_message, queue_kf_reply, queue_oa_message
from storage.db import make_sessionmaker
from storage.models.outbox import Outbox, OutboxStatus
from storage.repos import quotas
from storage.repos.windows import note_kf_customer_message, note_oa_user_message

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    yield make_sessionmaker(engine)


async def claim(sessions: async_sessionmaker[AsyncSession], clock: ManualClock, **settings: Any) -> ClaimBatch:
    claimer = Claimer(SenderSettings(**{"lease_s": 60, **settings}), ZoneInfo("Asia/Shanghai"), Metrics())
    async with sessions() as session, session.begin():
        return await claimer.claim(session, clock.now())


async def row(sessions: async_sessionmaker[AsyncSession], row_id: int) -> Outbox:
    async with sessions() as session:
        found = await session.get(Outbox, row_id)
        assert found is not None
        return found


async def test_the_thirty_first_message_is_deferred_with_its_reason_when_a_member_had_thirty(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(T0)
    async with sessions() as session, session.begin():
        ids = [await queue_app_message(session, T0, ["zhangsan"], Text(f"通知 {n}")) for n in range(31)]
    batch = await claim(sessions, clock)
    assert len(batch.claims) == 30
    last = await row(sessions, ids[-1])
    assert last.status == OutboxStatus.DEFERRED and last.reason == "member_rate"
    # Unanswered stamps sit at the lease end (the latest they could land): the place frees 62 s after that.
    assert last.not_before == T0 + timedelta(seconds=60 + 62)


async def test_rows_of_a_paused_api_wait_when_wecom_said_45009(sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = ManualClock(T0)
    async with sessions() as session, session.begin():
        await queue_app_message(session, T0, ["lisi"], Text("通知"))
        await quotas.pause_api(session, "/cgi-bin/message/send", T0 + timedelta(seconds=30), "45009")
    assert (await claim(sessions, clock)).claims == []
    clock.advance(timedelta(seconds=31))
    assert len((await claim(sessions, clock)).claims) == 1


async def test_an_oa_message_whose_lease_ran_out_becomes_unknown_instead_of_being_resent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(T0)
    async with sessions() as session, session.begin():
        await note_oa_user_message(session, "openid-1", T0)
        row_id = await queue_oa_message(session, T0, "openid-1", Text("您好"))
    assert len((await claim(sessions, clock)).claims) == 1
    clock.advance(timedelta(seconds=61))  # the process died holding it
    assert (await claim(sessions, clock)).claims == []
    lost = await row(sessions, row_id)
    assert lost.status == OutboxStatus.UNKNOWN and "resending could duplicate" in lost.reason


async def test_an_app_message_whose_lease_ran_out_is_resent_the_same_when_the_duplicate_check_covers_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(T0)
    async with sessions() as session, session.begin():
        row_id = await queue_app_message(session, T0, ["wangwu"], Text("通知"))
    first = (await claim(sessions, clock)).claims[0]
    clock.advance(timedelta(seconds=61))
    again = (await claim(sessions, clock)).claims[0]
    assert (again.row_id, again.attempt, again.unknown_since) == (row_id, 2, first.lease_until)
    assert again.payload == first.payload and again.repeat == first.repeat == 0


async def test_an_app_message_becomes_unknown_when_its_lease_ran_out_past_the_duplicate_check(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(T0)
    async with sessions() as session, session.begin():
        row_id = await queue_app_message(session, T0, ["wangwu"], Text("通知"))
    await claim(sessions, clock, duplicate_check_interval_s=600)
    clock.advance(timedelta(seconds=550))  # a resend now could land after WeCom forgot the first
    await claim(sessions, clock, duplicate_check_interval_s=600)
    assert (await row(sessions, row_id)).status == OutboxStatus.UNKNOWN


async def test_a_kf_resend_spends_no_second_place_when_its_lease_ran_out(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(T0)
    async with sessions() as session, session.begin():
        await note_kf_customer_message(session, "wk1", "wm1", T0)
        for n in range(5):
            await queue_kf_reply(session, T0, "wk1", "wm1", Text(f"回复 {n}"))
    assert len((await claim(sessions, clock)).claims) == 5
    clock.advance(timedelta(seconds=61))
    resent = (await claim(sessions, clock)).claims
    assert len(resent) == 5 and all(c.unknown_since is not None for c in resent)


async def test_a_new_customer_message_keeps_counting_sends_in_flight(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(T0)
    async with sessions() as session, session.begin():
        await note_kf_customer_message(session, "wk1", "wm2", T0)
        for n in range(6):
            await queue_kf_reply(session, T0, "wk1", "wm2", Text(f"回复 {n}"))
    batch = await claim(sessions, clock)
    assert len(batch.claims) == 5
    async with sessions() as session, session.begin():
        # The customer writes again while those 5 are still in flight: WeCom may count them in the new allowance.
        await note_kf_customer_message(session, "wk1", "wm2", T0 + timedelta(seconds=1))
        sixth = await queue_kf_reply(session, T0, "wk1", "wm2", Text("新回复"))
    await claim(sessions, clock)
    assert (await row(sessions, sixth)).reason.startswith("kf_quota")


async def test_a_kf_reply_fails_with_its_reason_when_the_customer_never_wrote(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(T0)
    async with sessions() as session, session.begin():
        row_id = await queue_kf_reply(session, T0, "wk1", "nobody", Text("您好"))
    await claim(sessions, clock)
    failed = await row(sessions, row_id)
    assert failed.status == OutboxStatus.FAILED and failed.reason.startswith("kf_window_closed")


async def test_a_mass_task_whose_lease_ran_out_is_claimed_for_reconciliation_with_the_same_targets(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(T0)
    async with sessions() as session, session.begin():
        await queue_mass_task(
            session, T0, sender="zhangsan", chat_type="single", targets=["wm1", "wm2"], content=MassContent("活动")
        )
    first = (await claim(sessions, clock)).claims[0]
    assert first.unknown_since is None and set(first.targets) == {"wm1", "wm2"}
    clock.advance(timedelta(seconds=61))
    again = (await claim(sessions, clock)).claims[0]
    assert again.unknown_since is not None and set(again.targets) == {"wm1", "wm2"}


async def test_a_mass_task_waits_for_next_month_when_every_target_had_its_cap(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(T0)
    async with sessions() as session, session.begin():
        for n in range(3):
            await queue_mass_task(
                session, T0, sender="lisi", chat_type="single", targets=["wm9"], content=MassContent(f"活动 {n}")
            )
    batch = await claim(sessions, clock, mass_cap=2)
    assert len(batch.claims) == 2
    async with sessions() as session:
        rows = [r for r in (await session.execute(Outbox.__table__.select())).all()]
    deferred = [r for r in rows if r.status == OutboxStatus.DEFERRED]
    assert len(deferred) == 1 and deferred[0].reason.startswith("mass_cap")
    assert deferred[0].not_before == datetime(2026, 12, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
