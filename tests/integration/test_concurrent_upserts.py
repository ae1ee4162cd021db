"""Writers racing over the same member or customer (a message, a group sync, a profile read, the contact import)
all succeed and leave one complete profile, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.wecom.client import WeComClient
from bot.channels.wecom.directory import WeComDirectory
from bot.ingest.contact_import import ContactImporter
from bot.ingest.sync import queue_group_sync
from bot.metrics import Metrics
from services.clock import SystemClock
from services.customers.contacts import fetch_unknown_members
from services.customers.identity import customer_for_external
from services.customers.lifecycle import refresh_customer, sync_group
from services.customers.profiles import customer_profile
from storage.models.customers import Customer, CustomerFollow, Member
from storage.repos import contacts
from tests.support.stack import DEMO, Stack, running_stack

CLOCK = SystemClock()


def _directory(stack: Stack) -> WeComDirectory:
    return WeComDirectory(WeComClient(stack.http, stack.sandbox_url, DEMO.corp_id, DEMO.secret, 5))


def _in_session(stack: Stack, work: Callable[[AsyncSession], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        async with stack.sessions() as session:
            await work(session)
            await session.commit()

    return run


async def _count(stack: Stack, stmt: Any) -> int:
    async with stack.sessions() as session:
        return int((await session.execute(stmt)).scalar_one())


async def test_racing_writers_leave_one_complete_customer_when_they_meet_the_same_person(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        state = await stack.sandbox_state()
        deer = next(c for c in state["customers"] if c["name"] == "小鹿乱撞🦌")
        ext, chat = deer["external_userid"], deer["groups"][0]
        directory = _directory(stack)
        importer = ContactImporter(stack.sessions, directory, directory, CLOCK, Metrics())
        writers = [
            # As an archived group message does: the sender as a bare placeholder, the members who spoke.
            _in_session(stack, lambda s: customer_for_external(s, ext, CLOCK.now())),
            _in_session(stack, lambda s: fetch_unknown_members(s, directory, ["zhangsan", "lisi"], CLOCK.now())),
            _in_session(stack, lambda s: refresh_customer(s, directory, ext, CLOCK.now())),
            _in_session(stack, lambda s: sync_group(s, directory, chat, CLOCK.now())),
        ]
        tasks = [w() for w in writers * 3] + [importer.run()]
        await asyncio.gather(*tasks)
        assert await _count(stack, select(func.count()).where(Customer.external_userid == ext)) == 1
        assert await _count(stack, select(func.count()).where(Member.userid == "zhangsan")) == 1
        async with stack.sessions() as session:
            stored = await contacts.customer_by_external_id(session, ext)
            assert stored is not None
            profile = await customer_profile(session, stored.id)
            follows = (
                await session.execute(select(func.count()).where(CustomerFollow.customer_id == stored.id))
            ).scalar_one()
        assert profile is not None and follows == 2
        assert (profile.name, profile.owner_userid, profile.status) == ("小鹿乱撞🦌", "zhangsan", "contact")
        assert {t["tag"] for t in profile.tags} == {"VIP", "直播间", "普通"}


async def test_group_sync_fills_in_a_placeholder_when_a_message_stored_the_customer_first(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        state = await stack.sandbox_state()
        mom = next(c for c in state["customers"] if c["name"] == "王姐(宝妈)")
        async with stack.sessions() as session:  # an early message: no name, no owner, no tags
            await customer_for_external(session, mom["external_userid"], CLOCK.now())
            await session.commit()
        await queue_group_sync(stack.sessions, _directory(stack), CLOCK)
        deadline = time.monotonic() + 15
        while True:
            async with stack.sessions() as session:
                stored = await contacts.customer_by_external_id(session, mom["external_userid"])
                assert stored is not None
                profile = await customer_profile(session, stored.id)
            assert profile is not None
            if profile.owner_userid or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert (profile.name, profile.owner_userid, profile.status) == ("王姐(宝妈)", "lisi", "contact")
        assert {t["tag"] for t in profile.tags} == {"VIP"}
        assert profile.groups
