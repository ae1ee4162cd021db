"""The mass_group path on SQLite and PostgreSQL: one chat_type=group task per group owner, for the groups the chosen
customers are in; a customer in no group is skipped, an opted-out customer does not choose their group."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from campaigns import manage, runs
from storage.models.groups import Group, GroupMember
from storage.models.masstasks import MassTask
from tests.campaigns.test_runs import NOW, POLICY, _create, _doc, _sends, _tasks, _world

# (chat_id, owner, customers in it)
GROUPS = (("wrG1", "lisi", (1, 2)), ("wrG2", "wangwu", (3,)), ("wrG3", "wangwu", (4,)), ("wrG4", "stranger", (2,)))


async def test_group_broadcast_makes_one_group_task_per_owner_when_the_customers_are_in_groups(
    engine: AsyncEngine,
) -> None:
    sessions = await _world(engine)
    async with sessions() as session, session.begin():
        for chat_id, owner, members in GROUPS:
            session.add(Group(chat_id=chat_id, name=chat_id, owner_userid=owner))
            await session.flush()
            session.add_all(
                GroupMember(chat_id=chat_id, member_id=f"wm{c}", member_type=2, customer_id=c) for c in members
            )
    await _create(sessions, _doc(path="mass_group", message="本周五晚8点直播答疑，欢迎参加～"))
    await runs.tick(sessions, NOW, POLICY)

    # wrG3 holds only the opted-out customer; wrG4's owner is not a rep Qunke knows.
    assert await _tasks(sessions) == {"lisi": [["wrG1"]], "wangwu": [["wrG2"]]}
    async with sessions() as session:
        assert set(await session.scalars(select(MassTask.chat_type))) == {"group"}
    assert await _sends(sessions) == {
        1: ("task", ""),
        2: ("task", ""),
        3: ("task", ""),
        4: ("skipped", "opted_out"),
        5: ("skipped", "no_group"),
    }


async def test_group_broadcast_is_refused_when_the_text_uses_a_variable(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    with pytest.raises(manage.CampaignError, match="mass_group sends one text"):
        await _create(sessions, _doc(path="mass_group", message="我是{{ owner_name }}，周五直播见"))
