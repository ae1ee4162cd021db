"""A run's drawn audience and its set-based dispatch on SQLite and PostgreSQL: small batches and small tasks record
and task every customer exactly once, a resumed walk continues from its cursor, the drawn list is gone when the run
ends, and an opt-out between selection and dispatch is honoured for a text shared by everyone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from campaigns import manage, runs
from campaigns.document import CampaignDocument
from campaigns.policy import CampaignPolicy
from campaigns.selection import select_batch
from services.service.calendar import BusinessCalendar, WorkingHours
from storage.db import make_sessionmaker
from storage.models.campaigns import Campaign, CampaignAudience, CampaignRun, CampaignSend, ContactPref
from storage.models.customers import Customer, CustomerTag, Member
from storage.models.masstasks import MassTarget, MassTask
from storage.repos import campaign_spans as spans
from storage.repos import campaigns as rows

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
SMALL = replace(
    CampaignPolicy(zone="Asia/Shanghai", calendar=BusinessCalendar("Asia/Shanghai", WorkingHours())),
    batch_size=3,
    task_max_targets=4,
)
SHARED = "双十二会员专享价已开启，回复「退订」不再接收。"


async def _world(engine: AsyncEngine, customers: int = 11) -> async_sessionmaker[AsyncSession]:
    """`customers` customers of lisi tagged VIP (every third also owned by wangwu instead), plus one untagged."""
    sessions = make_sessionmaker(engine)
    async with sessions() as s, s.begin():
        s.add_all([Member(userid="lisi", name="李四"), Member(userid="wangwu", name="王五")])
        owners = {i: "wangwu" if i % 3 == 0 else "lisi" for i in range(1, customers + 2)}
        s.add_all(
            Customer(id=i, external_userid=f"wm{i}", name=f"客户{i}", owner_userid=owner, first_seen_at=NOW)
            for i, owner in owners.items()
        )
        await s.flush()
        s.add_all(
            CustomerTag(customer_id=i, userid="lisi", tag_id="t1", tag_name="VIP") for i in range(1, customers + 1)
        )
    return sessions


async def _create(sessions: async_sessionmaker[AsyncSession], **overrides: str) -> int:
    document = {"name": "预热", "kind": "broadcast", "filter": {"tags": {"any": ["VIP"]}}, "path": "mass_single",
                "message": SHARED, "at": "now", **overrides}  # fmt: skip
    async with sessions() as session, session.begin():
        return (await manage.create_campaign(session, document, NOW, SMALL)).id


async def _targets_by_task(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, list[str]]]:
    async with sessions() as session:
        tasks = (await session.scalars(select(MassTask).order_by(MassTask.id))).all()
        found = []
        for task in tasks:
            ids = await session.scalars(select(MassTarget.target_id).where(MassTarget.task_id == task.id))
            found.append((task.sender, sorted(ids, key=lambda t: int(t[2:]))))
        return found


async def _audience_rows(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(CampaignAudience)) or 0)


async def test_every_customer_is_in_exactly_one_task_when_batches_and_tasks_are_small(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    await _create(sessions)
    await runs.tick(sessions, NOW, SMALL)
    tasks = await _targets_by_task(sessions)
    lisi = [t for sender, t in tasks if sender == "lisi"]
    wangwu = [t for sender, t in tasks if sender == "wangwu"]
    assert lisi == [["wm1", "wm2", "wm4", "wm5"], ["wm7", "wm8", "wm10", "wm11"]]  # 4 per task, in id order
    assert wangwu == [["wm3", "wm6", "wm9"]]
    async with sessions() as session:
        outcomes = dict((await session.execute(select(CampaignSend.customer_id, CampaignSend.outcome))).all())
        texts = set(await session.scalars(select(MassTask.text)))
    assert outcomes == {i: "task" for i in range(1, 12)} and texts == {SHARED}
    assert await _audience_rows(sessions) == 0  # the drawn list is dropped when the walk ends


async def test_a_resumed_walk_records_the_rest_once_when_the_bot_stopped_after_one_batch(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    campaign_id = await _create(sessions)
    async with sessions() as session, session.begin():  # what the walk commits before a crash: the draw, one batch
        campaign = await session.get(Campaign, campaign_id)
        assert campaign is not None
        run_id = await runs.fire_if_due(session, campaign, NOW, SMALL)
        assert run_id is not None
        await spans.draw_audience(session, run_id, Customer.id.in_(select(CustomerTag.customer_id)))
    async with sessions() as session, session.begin():
        run, campaign = await session.get(CampaignRun, run_id), await session.get(Campaign, campaign_id)
        assert run is not None and campaign is not None
        document = CampaignDocument.model_validate(campaign.definition)
        batch = await select_batch(session, run, campaign, document, 0, NOW, SMALL)
        await rows.update_run(session, run_id, cursor=batch.last_id)
    async with sessions() as session, session.begin():  # tagged after the draw: not in this run's audience
        session.add(CustomerTag(customer_id=12, userid="lisi", tag_id="t1", tag_name="VIP"))
    await runs.tick(sessions, NOW + timedelta(minutes=1), SMALL)
    tasks = await _targets_by_task(sessions)
    everyone = sorted((t for _, targets in tasks for t in targets), key=lambda t: int(t[2:]))
    assert everyone == [f"wm{i}" for i in range(1, 12)]
    assert await _audience_rows(sessions) == 0


async def test_an_opt_out_before_dispatch_is_skipped_when_everyone_gets_the_same_text(engine: AsyncEngine) -> None:
    sessions = await _world(engine, customers=5)
    night = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai: selected now, dispatched at 09:00
    await _create(sessions, at="2026-12-07T22:00")
    await runs.tick(sessions, night, SMALL)
    async with sessions() as session, session.begin():
        session.add(ContactPref(customer_id=2, opted_out_at=night + timedelta(hours=1), source="kf"))
    await runs.tick(sessions, datetime(2026, 12, 8, 1, 1, tzinfo=UTC), SMALL)
    assert await _targets_by_task(sessions) == [("lisi", ["wm1", "wm4", "wm5"]), ("wangwu", ["wm3"])]
    async with sessions() as session:
        skipped = (await session.execute(select(CampaignSend.outcome, CampaignSend.reason).where(
            CampaignSend.customer_id == 2))).one()  # fmt: skip
    assert tuple(skipped) == ("skipped", "opted_out")


async def test_a_cancelled_run_drops_its_drawn_audience_when_it_stops(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    night = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    campaign_id = await _create(sessions, at="2026-12-07T22:00")
    async with sessions() as session, session.begin():
        campaign = await session.get(Campaign, campaign_id)
        assert campaign is not None
        run_id = await runs.fire_if_due(session, campaign, night, SMALL)
        assert run_id is not None
        await spans.draw_audience(session, run_id, Customer.id.in_(select(CustomerTag.customer_id)))
        await rows.set_status(session, campaign_id, "cancelled", night)
    assert await _audience_rows(sessions) == 11
    await runs.tick(sessions, night, SMALL)
    assert await _audience_rows(sessions) == 0
