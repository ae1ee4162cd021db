"""Connecting Qunke to a corp imports its customer groups and their customers, with real join times."""

from __future__ import annotations

from datetime import UTC, datetime

from services.customers.profiles import customer_profile
from storage.repos import contacts
from tests.support.stack import running_stack


async def test_existing_groups_and_customers_are_imported_when_the_bot_starts(database_url: str) -> None:
    async with running_stack(database_url, sync_groups_on_start=True) as stack:
        state = await stack.sandbox_state()
        await stack.wait_for_groups(len(state["groups"]))
        await stack.settle()
        deer = next(c for c in state["customers"] if c["name"] == "小鹿乱撞🦌")
        group = next(g for g in state["groups"] if g["chat_id"] == deer["groups"][0])
        joined = next(m for m in group["member_list"] if m["userid"] == deer["external_userid"])
        async with stack.sessions() as session:
            stored = await contacts.customer_by_external_id(session, deer["external_userid"])
            assert stored is not None
            profile = await customer_profile(session, stored.id)
    assert profile is not None
    assert profile.owner_userid == "zhangsan"  # the rep who has had her longest
    assert profile.unionid == deer["unionid"]
    assert {g["chat_id"] for g in profile.groups} == set(deer["groups"])
    entry = next(t for t in profile.timeline if t.chat_id == group["chat_id"])
    assert entry.kind == "joined_group"
    assert entry.at == datetime.fromtimestamp(joined["join_time"], UTC)
