"""Campaign runs on SQLite and PostgreSQL: the right customers in one task per owner, every guard with its reason,
quiet hours deferring, a double firing or a second tick sending nothing twice, automations and the funnel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from campaigns import manage, runs
from campaigns.guards import held_out
from campaigns.policy import CampaignPolicy
from services.service.calendar import BusinessCalendar, WorkingHours
from storage.db import make_sessionmaker
from storage.models.campaigns import CampaignRun, CampaignSend, ContactPref
from storage.models.customers import Customer, CustomerTag, Member
from storage.models.masstasks import MassTarget, MassTargetStatus, MassTask
from storage.models.outbox import KfWindow, Outbox, OutboxKind
from storage.models.purchases import Purchase

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
POLICY = CampaignPolicy(zone="Asia/Shanghai", calendar=BusinessCalendar("Asia/Shanghai", WorkingHours()))


async def _world(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    sessions = make_sessionmaker(engine)
    async with sessions() as s, s.begin():
        s.add_all([Member(userid="lisi", name="李四"), Member(userid="wangwu", name="王五")])
        owners = {1: "lisi", 2: "lisi", 3: "wangwu", 4: "wangwu", 5: None, 6: "wangwu"}
        names = {1: "张三", 2: "赵六", 3: "钱七", 4: "孙八", 5: "周九", 6: "吴十"}
        s.add_all(
            Customer(id=i, external_userid=f"wm{i}", name=names[i], owner_userid=owners[i], first_seen_at=NOW)
            for i in owners
        )
        await s.flush()
        s.add_all(CustomerTag(customer_id=i, userid="lisi", tag_id="t1", tag_name="VIP") for i in (1, 2, 3, 4, 5))
        s.add(ContactPref(customer_id=4, opted_out_at=NOW - timedelta(days=1), source="kf"))
    return sessions


def _doc(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "双十二预热",
        "kind": "broadcast",
        "filter": {"tags": {"any": ["VIP"]}},
        "path": "mass_single",
        "message": "{{ name }}，双十二会员专享价已开启，回复「退订」不再接收。",
        "at": "now",
        **overrides,
    }


async def _create(sessions: async_sessionmaker[AsyncSession], document: dict[str, Any], now: datetime = NOW) -> int:
    async with sessions() as session, session.begin():
        view = await manage.create_campaign(session, document, now, POLICY)
    return view.id


async def _sends(sessions: async_sessionmaker[AsyncSession]) -> dict[int, tuple[str, str]]:
    async with sessions() as session:
        found = await session.execute(select(CampaignSend.customer_id, CampaignSend.outcome, CampaignSend.reason))
        return {cid: (outcome, reason) for cid, outcome, reason in found}


async def _tasks(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[list[str]]]:
    async with sessions() as session:
        tasks = (await session.scalars(select(MassTask).order_by(MassTask.id))).all()
        by_sender: dict[str, list[list[str]]] = {}
        for task in tasks:
            targets = await session.scalars(select(MassTarget.target_id).where(MassTarget.task_id == task.id))
            by_sender.setdefault(task.sender, []).append(sorted(targets))
        return by_sender


async def test_broadcast_makes_one_task_per_owner_with_the_right_customers_when_it_fires(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    await _create(sessions, _doc(message="双十二会员专享价已开启，回复「退订」不再接收。"))
    first = await runs.tick(sessions, NOW, POLICY)
    second = await runs.tick(sessions, NOW + timedelta(minutes=1), POLICY)
    assert len(first.fired) == 1 and second.fired == []
    assert await _tasks(sessions) == {"lisi": [["wm1", "wm2"]], "wangwu": [["wm3"]]}
    assert await _sends(sessions) == {
        1: ("task", ""),
        2: ("task", ""),
        3: ("task", ""),
        4: ("skipped", "opted_out"),
        5: ("skipped", "no_owner"),
    }


async def test_personal_texts_become_separate_tasks_when_the_message_names_the_customer(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    await _create(sessions, _doc())
    await runs.tick(sessions, NOW, POLICY)
    assert await _tasks(sessions) == {"lisi": [["wm1"], ["wm2"]], "wangwu": [["wm3"]]}
    async with sessions() as session:
        texts = set(await session.scalars(select(MassTask.text)))
    assert "张三，双十二会员专享价已开启，回复「退订」不再接收。" in texts


async def test_holdout_is_deterministic_and_excluded_when_a_share_is_held_out() -> None:
    draws = [held_out(7, customer, 0.3) for customer in range(2000)]
    assert draws == [held_out(7, customer, 0.3) for customer in range(2000)]
    assert 0.25 < sum(draws) / len(draws) < 0.35
    assert not any(held_out(7, customer, 0) for customer in range(100))


async def test_night_firing_waits_for_the_morning_when_quiet_hours_hold(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    night = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
    await _create(sessions, _doc(at="2026-12-07T22:00"), now=NOW)
    await runs.tick(sessions, night, POLICY)
    assert await _tasks(sessions) == {}
    async with sessions() as session:
        run = (await session.scalars(select(CampaignRun))).one()
        assert run.status == "dispatching"
        session.add(ContactPref(customer_id=2, opted_out_at=night + timedelta(hours=1), source="kf"))
        await session.commit()
    await runs.tick(sessions, datetime(2026, 12, 8, 1, 1, tzinfo=UTC), POLICY)  # 09:01
    assert await _tasks(sessions) == {"lisi": [["wm1"]], "wangwu": [["wm3"]]}
    assert (await _sends(sessions))[2] == ("skipped", "opted_out")  # said 退订 overnight: checked again at dispatch


async def test_frequency_cap_skips_a_customer_when_two_campaigns_reached_them_this_week(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    for day, name in ((0, "一"), (1, "二"), (2, "三")):
        when = NOW + timedelta(days=day)
        await _create(sessions, _doc(name=f"活动{name}", message="新品上市", filter={"owner": {"in": ["lisi"]}}), when)
        await runs.tick(sessions, when, POLICY)
    async with sessions() as session:
        rows = await session.execute(
            select(CampaignSend.campaign_id, CampaignSend.outcome, CampaignSend.reason)
            .where(CampaignSend.customer_id == 1)
            .order_by(CampaignSend.campaign_id)
        )
        assert [(outcome, reason) for _, outcome, reason in rows] == [
            ("task", ""),
            ("task", ""),
            ("skipped", "frequency_cap"),
        ]


async def test_same_day_second_campaign_is_deduped_when_a_customer_already_got_one(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    await _create(sessions, _doc(name="上午", message="上午好", filter={"owner": {"in": ["wangwu"]}}))
    await runs.tick(sessions, NOW, POLICY)
    later = NOW + timedelta(hours=2)
    await _create(sessions, _doc(name="中午", message="中午好", filter={"owner": {"in": ["wangwu"]}}), later)
    await runs.tick(sessions, later, POLICY)
    async with sessions() as session:
        reasons = set(await session.scalars(select(CampaignSend.reason).where(CampaignSend.campaign_id == 2)))
    assert reasons == {"dedupe", "opted_out"}


async def test_recurring_campaign_fires_once_per_cron_time_when_ticked_often(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    document = _doc(kind="recurring", cron="0 10 * * *", message="早安", filter={"owner": {"in": ["lisi"]}})
    del document["at"]
    await _create(sessions, document, now=NOW - timedelta(minutes=5))
    for minutes in (0, 1, 2):
        await runs.tick(sessions, NOW + timedelta(minutes=minutes), POLICY)
    tomorrow = NOW + timedelta(days=1)
    for minutes in (0, 1):
        await runs.tick(sessions, tomorrow + timedelta(minutes=minutes), POLICY)
    async with sessions() as session:
        scheduled = list(await session.scalars(select(CampaignRun.scheduled_for).order_by(CampaignRun.id)))
        sends = int(await session.scalar(select(func.count()).select_from(CampaignSend)) or 0)
    assert [s.astimezone(UTC) for s in scheduled] == [NOW, tomorrow]
    assert sends == 4  # customers 1 and 2, twice; the frequency cap allows two a week


async def test_automation_fires_for_a_purchase_of_the_item_made_n_days_ago(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    async with sessions() as s, s.begin():
        s.add_all(
            [
                Purchase(
                    customer_id=1, reference="p1", item="猫粮", amount_cents=100, purchased_at=NOW - timedelta(days=7)
                ),
                Purchase(
                    customer_id=2, reference="p2", item="猫砂", amount_cents=100, purchased_at=NOW - timedelta(days=7)
                ),
                Purchase(
                    customer_id=3, reference="p3", item="猫粮", amount_cents=100, purchased_at=NOW - timedelta(days=6)
                ),
            ]
        )
    document = {
        "name": "补货提醒",
        "kind": "automation",
        "trigger": {"event": "purchase", "days": 7, "item": "猫粮", "at": "10:00"},
        "path": "member_reminder",
        "message": "{{ name }} 7 天前买了{{ last_item }}，可以问问是否需要补货",
    }
    await _create(sessions, document, now=NOW - timedelta(hours=1))
    await runs.tick(sessions, NOW, POLICY)
    await runs.tick(sessions, NOW + timedelta(minutes=5), POLICY)
    async with sessions() as session:
        reminders = list(await session.scalars(select(Outbox).where(Outbox.kind == OutboxKind.APP_MESSAGE)))
    assert len(reminders) == 1 and reminders[0].recipient == "lisi"
    assert "张三 7 天前买了猫粮" in str(reminders[0].payload)
    assert await _sends(sessions) == {1: ("queued", "")}


async def test_kf_path_sends_only_inside_an_open_window_when_customers_have_one(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    async with sessions() as s, s.begin():
        s.add(
            KfWindow(
                open_kfid="wkA",
                external_userid="wm1",
                last_customer_message_at=NOW - timedelta(hours=1),
                sends_since=0,
                session_state=1,
            )
        )
    await _create(sessions, _doc(path="kf", message="您预约的课程今晚 7 点开始", filter={"owner": {"in": ["lisi"]}}))
    await runs.tick(sessions, NOW, POLICY)
    async with sessions() as session:
        sent = list(await session.scalars(select(Outbox.recipient).where(Outbox.kind == OutboxKind.KF_MESSAGE)))
    assert len(sent) == 1 and "wm1" in sent[0]
    assert (await _sends(sessions))[2] == ("skipped", "no_window")


async def test_funnel_counts_delivered_and_converted_when_the_task_was_confirmed(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    campaign_id = await _create(sessions, _doc(message="新品上市"))
    await runs.tick(sessions, NOW, POLICY)
    async with sessions() as s, s.begin():
        task = (await s.scalars(select(MassTask).where(MassTask.sender == "lisi"))).one()
        task.status = "confirmed"
        target = (await s.scalars(select(MassTarget).where(MassTarget.target_id == "wm1"))).one()
        target.status = MassTargetStatus.SENT
        s.add(Purchase(customer_id=1, reference="after", amount_cents=100, purchased_at=NOW + timedelta(days=2)))
    async with sessions() as session:
        shown = await manage.show_campaign(session, str(campaign_id), POLICY, NOW + timedelta(days=3))
    funnel = shown.funnel
    assert funnel is not None
    assert (funnel["audience"], funnel["in_tasks"], funnel["tasks_created"]) == (5, 3, 1)  # confirmed was created
    assert (funnel["tasks_confirmed"], funnel["delivered"], funnel["converted"]) == (1, 1, 1)
    assert funnel["skipped"] == {"opted_out": 1, "no_owner": 1} and funnel["lift"] is None
    assert shown.status == "finished" and len(shown.runs) == 1


BAD: list[tuple[dict[str, Any], str]] = [
    (_doc(colour="red"), "colour: unknown field"),
    (_doc(kind="recurring", cron="every monday"), "`at` does not apply"),
    ({**{k: v for k, v in _doc().items() if k != "at"}, "kind": "recurring", "cron": "0 25 * * *"}, "cron:"),
    (_doc(at="2020-01-01T10:00"), "at: the time is in the past"),
    (_doc(message="{{ nickname }}你好"), "未知变量 / unknown variable nickname"),
    (_doc(message="{{ name "), "模板语法错误"),
    (_doc(filter={"tags": {"any": ["不存在的标签"]}}), "受众为空"),
    (_doc(segment="没有这个分群", filter=None), "segment: 没有名为"),
    (_doc(path="kf"), "kf 路径无法送达"),
    (_doc(holdout=0.9), "holdout: Input should be less than or equal to 0.5"),
    (_doc(kind="automation", trigger={"event": "birthday", "at": "25:00"}), "trigger.at: expected HH:MM"),
]


@pytest.mark.parametrize(("document", "message"), BAD, ids=[m for _, m in BAD])
async def test_create_refuses_the_document_naming_the_field_when_it_is_wrong(
    engine: AsyncEngine, document: dict[str, Any], message: str
) -> None:
    sessions = await _world(engine)
    document = {k: v for k, v in document.items() if v is not None}
    async with sessions() as session:
        with pytest.raises(manage.CampaignError) as raised:
            await manage.create_campaign(session, document, NOW, POLICY)
    assert message in str(raised.value)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CampaignRun)) == 0
