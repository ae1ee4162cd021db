"""The event triggers on SQLite and PostgreSQL: the new_contact welcome (text by channel state, guards, one a day) and
tag_added (a tag a rep adds becomes a timeline entry the daily automation selects)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from campaigns import manage, runs
from campaigns.welcome import welcome_new_contact
from services.customers.tagging import apply_marked
from storage.models.campaigns import CampaignSend
from storage.models.customers import CustomerEvent
from storage.models.outbox import Outbox, OutboxKind
from tests.campaigns.test_runs import NOW, POLICY, _create, _doc, _sends, _tasks, _world

WELCOME = {
    "name": "新好友欢迎",
    "kind": "automation",
    "trigger": {"event": "new_contact"},
    "path": "welcome",
    "message": "{{ name }}您好，我是{{ owner_name }}，有问题随时找我～",
    "state_messages": {"live0901": "{{ name }}您好，欢迎从直播间来！回复「福利」领取专属券。"},
}


async def _welcome(sessions: async_sessionmaker[AsyncSession], customer: str, state: str, code: str) -> str:
    async with sessions() as session, session.begin():
        return await welcome_new_contact(
            session,
            POLICY,
            external_userid=customer,
            member_userid="lisi",
            state=state,
            welcome_code=code,
            received_at=NOW,
            now=NOW + timedelta(seconds=1),
        )


async def _welcomes(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    async with sessions() as session:
        rows = await session.scalars(select(Outbox).where(Outbox.kind == OutboxKind.WELCOME_MESSAGE))
        return {row.recipient: row.payload["content"] for row in rows}


async def test_welcome_uses_the_state_text_when_the_customer_came_through_that_channel(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    await _create(sessions, {**WELCOME})
    assert await _welcome(sessions, "wm1", "live0901", "code-live") == "queued"
    assert await _welcome(sessions, "wm2", "qr_store_01", "code-store") == "queued"
    assert await _welcomes(sessions) == {
        "code-live": "张三您好，欢迎从直播间来！回复「福利」领取专属券。",
        "code-store": "赵六您好，我是李四，有问题随时找我～",
    }
    async with sessions() as session:
        expires = (await session.scalars(select(Outbox).where(Outbox.recipient == "code-live"))).one()
    assert expires.payload["code_expires_at"] == (NOW + timedelta(seconds=20)).isoformat()


async def test_welcome_is_skipped_with_its_reason_when_a_guard_holds_or_it_was_sent_today(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    await _create(sessions, {**WELCOME})
    assert await _welcome(sessions, "wm4", "", "code-optout") == "opted_out"  # wm4 said 退订
    assert await _welcome(sessions, "wm1", "", "code-first") == "queued"
    assert await _welcome(sessions, "wm1", "", "code-second") == "already_welcomed"
    assert await _welcome(sessions, "wm-unknown", "", "code-x") == ""
    assert set(await _welcomes(sessions)) == {"code-first"}
    assert (await _sends(sessions))[4] == ("skipped", "opted_out")


async def test_welcome_is_not_sent_when_no_new_contact_campaign_is_active(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    await _create(sessions, {**WELCOME, "filter": {"owner": {"in": ["wangwu"]}}})
    assert await _welcome(sessions, "wm1", "", "code-1") == ""  # wm1 is lisi's: outside the campaign's segment
    async with sessions() as session, session.begin():
        await manage.change_status(session, "新好友欢迎", "pause", NOW)
    assert await _welcome(sessions, "wm3", "", "code-3") == ""
    assert await _welcomes(sessions) == {}


async def test_new_contact_campaign_never_fires_on_the_daily_tick_when_it_is_an_event_trigger(
    engine: AsyncEngine,
) -> None:
    sessions = await _world(engine)
    await _create(sessions, {**WELCOME})
    summary = await runs.tick(sessions, NOW + timedelta(days=1), POLICY)
    assert summary.fired == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"state_messages": {"qr1": "{{ nickname }}你好"}}, "state_messages.qr1: 未知变量"),
        ({"path": "mass_single"}, "path welcome goes with trigger event new_contact"),
        ({"trigger": {"event": "new_contact", "days": 3}}, "days must be 0"),
    ],
)
async def test_welcome_campaign_is_refused_naming_the_field_when_it_is_wrong(
    engine: AsyncEngine, change: dict[str, object], expected: str
) -> None:
    sessions = await _world(engine)
    with pytest.raises(manage.CampaignError, match=expected):
        await _create(sessions, {**WELCOME, **change})


async def test_tag_added_automation_reaches_customers_tagged_that_day_when_it_fires(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    async with sessions() as session, session.begin():
        await apply_marked(session, "wm6", {"userid": "wangwu", "add_tag": ["t9"]}, NOW - timedelta(hours=1))
        await apply_marked(session, "wm3", {"userid": "wangwu", "add_tag": ["t8"]}, NOW - timedelta(hours=1))
    async with sessions() as session:
        events = (await session.scalars(select(CustomerEvent).where(CustomerEvent.kind == "tag_added"))).all()
    assert sorted((e.customer_id, e.detail["tag"]) for e in events) == [(3, "t8"), (6, "t9")]
    document = _doc(
        name="打标签后关怀",
        kind="automation",
        filter=None,
        at=None,
        trigger={"event": "tag_added", "tag": "t9", "days": 0, "at": "10:00"},
        message="感谢关注，新人礼已为您准备好。",
    )
    await _create(sessions, {k: v for k, v in document.items() if v is not None})
    await runs.tick(sessions, NOW, POLICY)
    assert await _tasks(sessions) == {"wangwu": [["wm6"]]}
    async with sessions() as session:
        assert set(await session.scalars(select(CampaignSend.customer_id))) == {6}


async def test_tag_added_trigger_is_refused_when_it_names_no_tag(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    document = {**_doc(kind="automation", trigger={"event": "tag_added"}), "at": None}
    with pytest.raises(manage.CampaignError, match="tag_added needs `tag`"):
        await _create(sessions, {k: v for k, v in document.items() if v is not None})
