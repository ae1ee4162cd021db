"""The start-up import of every contact (batch/get_by_user) against the sandbox: owner, remark, tags, resuming."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from bot.channels.wecom.client import WeComClient
from bot.channels.wecom.directory import WeComDirectory
from bot.ingest.contact_import import MEMBER_CURSOR, PAGE_CURSOR, ContactImporter
from bot.metrics import Metrics
from services.clock import SystemClock
from services.customers.profiles import CustomerProfile, customer_profile
from storage.repos import contacts, cursors
from tests.support.stack import DEMO, Stack, running_stack


def _directory(stack: Stack) -> WeComDirectory:
    return WeComDirectory(WeComClient(stack.http, stack.sandbox_url, DEMO.corp_id, DEMO.secret, 5))


def _customer(state: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in state["customers"] if c["name"] == name)


async def _profile(stack: Stack, external_userid: str) -> CustomerProfile | None:
    async with stack.sessions() as session:
        stored = await contacts.customer_by_external_id(session, external_userid)
        return await customer_profile(session, stored.id) if stored else None


async def _wait_for_profile(stack: Stack, external_userid: str, timeout: float = 15.0) -> CustomerProfile:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        profile = await _profile(stack, external_userid)
        if profile is not None and profile.owner_userid:
            return profile
        await asyncio.sleep(0.05)
    raise AssertionError(f"{external_userid} was not imported with an owner within {timeout} s")


async def _position(stack: Stack) -> tuple[str, str]:
    async with stack.sessions() as session:
        return await cursors.read(session, MEMBER_CURSOR), await cursors.read(session, PAGE_CURSOR)


async def test_contact_in_no_group_is_imported_with_owner_tags_and_remark_when_the_bot_starts(
    database_url: str,
) -> None:
    async with running_stack(database_url, import_contacts_on_start=True) as stack:
        state = await stack.sandbox_state()
        liu = _customer(state, "大刘")
        assert not liu["groups"]  # in no customer group: only the contact import can find him
        profile = await _wait_for_profile(stack, liu["external_userid"])
        assert (profile.name, profile.owner_userid, profile.owner_name) == ("大刘", "wangwu", "王五")
        assert profile.status == "contact"
        follow = profile.follows[0]
        assert (follow["userid"], follow["remark"]) == ("wangwu", "大刘-售后咨询")
        assert follow["added_at"] == datetime.fromtimestamp(liu["follows"][0]["createtime"], UTC)
        assert [(t["tag"], t["group"]) for t in profile.tags] == [("普通", "客户等级")]
        await _wait_until(lambda: _position(stack), ("", ""))
        deer = await _wait_for_profile(stack, _customer(state, "小鹿乱撞🦌")["external_userid"])
        assert deer.owner_userid == "zhangsan"  # two reps: the one who added her first owns her
        assert {f["userid"] for f in deer.follows} == {"zhangsan", "lisi"}
        assert {f["state"] for f in deer.follows if f["userid"] == "zhangsan"} == {"live0901"}
        assert {(t["tag"], t["by"]) for t in deer.tags} == {
            ("VIP", "zhangsan"),
            ("直播间", "zhangsan"),
            ("普通", "lisi"),
        }


async def _wait_until(read: Any, expected: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await read() == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never reached {expected!r} within {timeout} s")


async def test_import_resumes_from_the_saved_cursor_when_interrupted_mid_chunk(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        directory = _directory(stack)
        everyone = sorted(await directory.list_follow_userids())
        first_page = await directory.contacts_of_members(everyone, "", 2)
        assert first_page.next_cursor
        done = {c.external_userid for c in first_page.contacts}
        clock = SystemClock()
        async with stack.sessions() as session:  # as a crash after the first page's commit leaves it
            await cursors.save(session, MEMBER_CURSOR, everyone[0], clock.now())
            await cursors.save(session, PAGE_CURSOR, first_page.next_cursor, clock.now())
            await session.commit()
        importer = ContactImporter(stack.sessions, directory, directory, clock, Metrics(), page_limit=2)
        imported = await importer.run()
        whole = await directory.contacts_of_members(everyone, "", 100)
        assert imported == len(whole.contacts) - len(first_page.contacts)
        async with stack.sessions() as session:
            stored = set(await contacts.customers_by_external_ids(session, {c.external_userid for c in whole.contacts}))
        later = {c.external_userid for c in whole.contacts[len(first_page.contacts) :]}
        assert stored == later and not (done - later) & stored  # the pages before the cursor were not read again
        assert await _position(stack) == ("", "")
        assert await importer.run() == len(whole.contacts)  # the next import is a full pass
        async with stack.sessions() as session:
            again = await contacts.customers_by_external_ids(session, {c.external_userid for c in whole.contacts})
        assert set(again) == {c.external_userid for c in whole.contacts}


async def test_import_starts_at_the_saved_member_when_a_later_chunk_was_under_way(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        state = await stack.sandbox_state()
        async with stack.sessions() as session:
            await cursors.save(session, MEMBER_CURSOR, "wangwu", SystemClock().now())
            await session.commit()
        directory = _directory(stack)
        await ContactImporter(stack.sessions, directory, directory, SystemClock(), Metrics()).run()
        assert await _profile(stack, _customer(state, "阿杰")["external_userid"]) is None  # lisi's: before wangwu
        liu = await _profile(stack, _customer(state, "大刘")["external_userid"])
        assert liu is not None and liu.owner_userid == "wangwu"


async def test_import_recovers_and_finishes_when_the_directory_fails_once(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        fault = {"api": "/cgi-bin/externalcontact/batch/get_by_user", "errcode": 60011, "times": 1}
        async with stack.http.post(f"{stack.sandbox_url}/sandbox/faults", json=fault) as resp:
            assert resp.status == 200, await resp.text()
        directory = _directory(stack)
        metrics = Metrics()
        importer = ContactImporter(stack.sessions, directory, directory, SystemClock(), metrics)
        await asyncio.wait_for(importer.run_until_done(0.1, asyncio.Event()), 30)
        assert metrics.contact_import_failures._value.get() == 1
        liu = await _profile(stack, _customer(await stack.sandbox_state(), "大刘")["external_userid"])
        assert liu is not None and liu.owner_userid == "wangwu"
