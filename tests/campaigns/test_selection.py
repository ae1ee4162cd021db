"""The set-based batch selection records exactly what the per-customer guards decide, on SQLite and PostgreSQL:
every guard's skip with its reason, the holdout, template failures, across keyset batches."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from campaigns import manage, runs
from campaigns.document import CampaignDocument
from campaigns.guards import guard_batch
from campaigns.policy import CampaignPolicy
from services.outbox.mass_queue import queue_mass_task
from services.outbox.messages import MassContent
from services.service.calendar import BusinessCalendar, WorkingHours
from storage.db import make_sessionmaker
from storage.models.campaigns import Campaign, CampaignRun, CampaignSend, ContactPref, CustomerAttribute
from storage.models.customers import Customer, CustomerTag, Member
from storage.models.masstasks import MassTarget

NIGHT = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai: the run selects, dispatch waits for morning
POLICY = replace(
    CampaignPolicy(zone="Asia/Shanghai", calendar=BusinessCalendar("Asia/Shanghai", WorkingHours())), batch_size=7
)
PEOPLE = range(1, 41)


async def _world(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s, s.begin():
        s.add_all([Member(userid="lisi", name="李四"), Member(userid="wangwu", name="王五")])
        for i in PEOPLE:
            owner = None if i % 9 == 0 else ("lisi" if i % 2 else "wangwu")
            external = None if i % 11 == 0 else f"wm{i}"
            s.add(Customer(id=i, external_userid=external, name=f"客户{i}", owner_userid=owner, first_seen_at=NIGHT))
        await s.flush()
        s.add_all(CustomerTag(customer_id=i, userid="lisi", tag_id="t1", tag_name="VIP") for i in PEOPLE)
        s.add_all(ContactPref(customer_id=i, opted_out_at=NIGHT - timedelta(days=1), source="kf") for i in (3, 17))
        s.add_all(
            CustomerAttribute(customer_id=i, name="city", value="上海", updated_at=NIGHT) for i in PEOPLE if i % 4
        )


async def _earlier_sends(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Customers 5-6 got another campaign today, 7-8 two this week; wm10 used up this month's WeCom cap."""
    async with sessions() as s, s.begin():
        day = timedelta(days=1)
        earlier = (("今天", timedelta(hours=3), (5, 6)), ("周一", 2 * day, (7, 8)), ("周二", 3 * day, (7, 8)))
        for name, ago, ids in earlier:
            when = NIGHT - ago
            view = await manage.create_campaign(s, _doc(name, "旧消息"), when - timedelta(minutes=1), POLICY)
            run = CampaignRun(campaign_id=view.id, scheduled_for=when, status="done", cursor=0, dispatch_after=when,
                              started_at=when, error="")  # fmt: skip
            s.add(run)
            await s.flush()
            s.add_all(CampaignSend(run_id=run.id, campaign_id=view.id, customer_id=i, owner_userid="lisi",
                                   outcome="task", reason="", text="旧消息", created_at=when) for i in ids)  # fmt: skip
        for n in range(31):
            await queue_mass_task(s, NIGHT, sender="lisi", chat_type="single", targets=["wm10"],
                                  content=MassContent(f"第{n}条"), key=f"cap:{n}")  # fmt: skip
        await s.execute(update(MassTarget).values(status="sent", period="2026-12"))
        await s.execute(update(Campaign).values(status="finished"))


def _doc(name: str, message: str, **extra: object) -> dict[str, object]:
    return {"name": name, "kind": "broadcast", "filter": {"tags": {"any": ["VIP"]}}, "path": "mass_single",
            "message": message, "at": "now", **extra}  # fmt: skip


async def test_batch_selection_matches_the_per_customer_guards_when_every_guard_applies(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    await _world(sessions)
    await _earlier_sends(sessions)
    document = _doc("双十二", "{{ name }}，{{ attributes.city }}门店会员价", holdout=0.3)
    async with sessions() as s, s.begin():
        view = await manage.create_campaign(s, document, NIGHT - timedelta(minutes=1), POLICY)
    await runs.tick(sessions, NIGHT, POLICY)
    async with sessions() as s:
        run = (await s.scalars(select(CampaignRun).where(CampaignRun.campaign_id == view.id))).one()
        assert run.status == "dispatching"  # selected, waiting for the morning
        recorded = {
            cid: (outcome, reason, text)
            for cid, outcome, reason, text in await s.execute(
                select(CampaignSend.customer_id, CampaignSend.outcome, CampaignSend.reason, CampaignSend.text).where(
                    CampaignSend.run_id == run.id
                )
            )
        }
        campaign = await s.get(Campaign, view.id)
        assert campaign is not None
        parsed = CampaignDocument.model_validate(campaign.definition)
        reference = await guard_batch(s, run, campaign, parsed, list(PEOPLE), NIGHT, POLICY)
    expected = {row["customer_id"]: (row["outcome"], row["reason"], row["text"]) for row in reference}
    assert recorded == expected
    reasons = {reason for outcome, reason, _ in recorded.values() if outcome == "skipped"}
    assert reasons == {"opted_out", "no_owner", "no_external_userid", "dedupe", "frequency_cap", "monthly_cap",
                       "template"}  # fmt: skip
    assert any(outcome == "held_out" for outcome, _, _ in recorded.values())
    assert recorded[1] == ("selected", "", "客户1，上海门店会员价")
