"""The daily churn job on generated histories, on SQLite and PostgreSQL: who is flagged, why, and alerts once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config.growth import ChurnSettings
from bot.config.settings import Settings
from bot.jobs import CHURN_JOB, schedule_churn
from bot.scheduler import Scheduler
from bot.tasks import BackgroundTasks
from services.churn.model import ChurnPolicy
from services.churn.warning import at_risk, run_churn
from services.clock import ManualClock
from storage.db import make_sessionmaker
from storage.models.customers import Customer
from storage.models.outbox import Outbox, OutboxKind
from storage.models.service import ChurnScore, ServiceAlert
from storage.models.surveys import Survey
from tests.support.churn_histories import AT_RISK, HEALTHY, OWNER, Generated, generate, insert_generated

NOW = datetime(2026, 11, 23, 19, 30, tzinfo=UTC)  # 03:30 the next morning in Shanghai
POLICY = ChurnPolicy()


async def _seed(engine: AsyncEngine, kinds: tuple[str, ...] = AT_RISK + HEALTHY) -> tuple[Any, Generated]:
    sessions = make_sessionmaker(engine)
    generated = generate(list(kinds), NOW)
    async with sessions() as session, session.begin():
        await insert_generated(session, generated)
    return sessions, generated


async def _alerts(sessions: async_sessionmaker[AsyncSession]) -> list[Outbox]:
    async with sessions() as session:
        rows = await session.execute(select(Outbox).where(Outbox.kind == OutboxKind.APP_MESSAGE).order_by(Outbox.id))
        return list(rows.scalars())


def _id(generated: Generated, kind: str) -> int:
    return next(cid for cid, k in generated.kinds.items() if k == kind)


async def test_known_at_risk_customers_are_flagged_with_their_reasons_and_healthy_ones_are_not(
    engine: AsyncEngine,
) -> None:
    sessions, generated = await _seed(engine)

    summary = await run_churn(sessions, NOW, POLICY)

    assert summary.scored == len(generated.kinds)
    async with sessions() as session:
        listed = await at_risk(session, 100, include_lost=True)
        scores = {s.customer_id: s for s in (await session.execute(select(ChurnScore))).scalars()}
    flagged = {generated.kinds[r.customer_id] for r in listed}
    assert flagged == set(AT_RISK)
    assert all(not scores[cid].at_risk for cid, kind in generated.kinds.items() if kind in HEALTHY)
    reasons = {generated.kinds[r.customer_id]: r.reasons for r in listed}
    assert reasons["fading"] == ["近30天没有发言（以往每30天约10条）"]
    assert reasons["overdue"][0].startswith("已超过平时购买周期（约30天），")
    assert reasons["unhappy"] == ["最近一次满意度评分为1分"]
    assert reasons["ticket"] == ["有1个未解决的工单，其中1个被重新打开过", "近30天有1条消息带负面情绪（如“太慢”）"]
    assert reasons["leaver"] == ["最近退出了2个客户群"]
    assert [r.risk for r in listed] == sorted((r.risk for r in listed), reverse=True)
    assert all(r.action and r.owner_userid == OWNER for r in listed)
    json.dumps([r.to_dict() for r in listed], ensure_ascii=False)  # JSON-able for `qunke report service`


async def test_owner_is_alerted_once_per_crossing_and_not_again_on_the_next_days_run(engine: AsyncEngine) -> None:
    sessions, generated = await _seed(engine)

    first = await run_churn(sessions, NOW, POLICY)
    second = await run_churn(sessions, NOW + timedelta(days=1), POLICY)

    assert (first.crossed, first.alerted, first.not_alerted) == (6, 5, 1)  # "lost" already deleted the rep
    assert (second.crossed, second.alerted) == (0, 0)
    assert second.at_risk == 6
    alerts = await _alerts(sessions)
    assert len(alerts) == 5 and {a.recipient for a in alerts} == {OWNER}
    unhappy = _id(generated, "unhappy")
    text = next(a.payload["content"] for a in alerts if f"（ID {unhappy}）" in a.payload["content"])
    assert text.startswith("【客户流失预警】")
    assert "流失风险 70%" in text and "1. 最近一次满意度评分为1分" in text and "建议：尽快私聊或电话回访" in text
    async with sessions() as session:
        lost = await session.get(ChurnScore, _id(generated, "lost"))
        keys = (await session.execute(select(ServiceAlert.alert_key))).scalars().all()
    assert lost is not None and lost.at_risk and lost.crossed_at == NOW and lost.alerted_at is None
    assert len(keys) == 5 and all(k.startswith("churn:") for k in keys)


async def test_a_customer_is_alerted_again_only_after_recovering_and_relapsing(engine: AsyncEngine) -> None:
    sessions, generated = await _seed(engine, ("unhappy", "steady"))
    unhappy = _id(generated, "unhappy")
    await run_churn(sessions, NOW, POLICY)

    await _answer_csat(sessions, unhappy, 5, NOW + timedelta(days=1))
    recovered = await run_churn(sessions, NOW + timedelta(days=2), POLICY)
    await _answer_csat(sessions, unhappy, 1, NOW + timedelta(days=3))
    relapsed = await run_churn(sessions, NOW + timedelta(days=4), POLICY)

    assert (recovered.at_risk, recovered.crossed) == (0, 0)
    assert (relapsed.crossed, relapsed.alerted) == (1, 1)
    assert len(await _alerts(sessions)) == 2
    async with sessions() as session:
        score = await session.get(ChurnScore, unhappy)
    assert score is not None and score.crossed_at == score.alerted_at == NOW + timedelta(days=4)


async def test_scores_in_small_chunks_match_one_big_chunk_and_merged_profiles_count_for_their_person(
    engine: AsyncEngine,
) -> None:
    sessions, generated = await _seed(engine, ("steady", "fading", "steady", "overdue", "new"))
    fading = _id(generated, "fading")
    # The "new" profile turns out to be the fading customer's other identity: their recent messages count too.
    other = _id(generated, "new")
    async with sessions() as session, session.begin():
        await session.execute(update(Customer).where(Customer.id == other).values(merged_into_id=fading))

    await run_churn(sessions, NOW, ChurnPolicy(chunk_size=2))
    async with sessions() as session:
        small = {s.customer_id: (s.risk, s.reasons) for s in (await session.execute(select(ChurnScore))).scalars()}
    await run_churn(sessions, NOW, ChurnPolicy(chunk_size=1000))
    async with sessions() as session:
        big = {s.customer_id: (s.risk, s.reasons) for s in (await session.execute(select(ChurnScore))).scalars()}

    assert small == big
    assert other not in big  # merged profiles are scored as part of their person
    assert big[fading][0] < POLICY.threshold and big[fading][1][0].startswith("近30天发言比以往少了")
    assert big[_id(generated, "overdue")][0] >= POLICY.threshold


async def test_the_daily_job_is_scheduled_at_run_at_and_scores_when_run(engine: AsyncEngine) -> None:
    sessions, generated = await _seed(engine, ("fading", "steady"))
    scheduler = Scheduler(BackgroundTasks(), "Asia/Shanghai")
    settings = Settings(churn=ChurnSettings(run_at="03:30"))

    schedule_churn(scheduler, settings, sessions, ManualClock(NOW))
    await scheduler.run_now(CHURN_JOB)

    async with sessions() as session:
        listed = await at_risk(session)
    assert [generated.kinds[r.customer_id] for r in listed] == ["fading"]
    assert listed[0].scored_at == NOW


async def _answer_csat(sessions: async_sessionmaker[AsyncSession], customer_id: int, score: int, at: datetime) -> None:
    async with sessions() as session, session.begin():
        session.add(
            Survey(
                customer_id=customer_id,
                kind="csat",
                trigger="ticket_solved",
                channel="kf",
                chat_id="wkGEN",
                status="answered",
                asked_at=at - timedelta(hours=1),
                expires_at=at + timedelta(days=2),
                score=score,
                answer_text=str(score),
                answered_at=at,
            )
        )
