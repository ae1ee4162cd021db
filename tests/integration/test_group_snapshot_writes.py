"""A group snapshot is written as its difference from what is stored: joins, leaves and changes, a statement each."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.customers.directory import GroupChatInfo, GroupMemberInfo
from services.customers.groups import apply_group
from storage.db import make_sessionmaker
from storage.models.customers import Customer, CustomerEvent
from storage.models.groups import Group, GroupMember

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _member(member_id: str, nickname: str = "", joined: datetime = T0) -> GroupMemberInfo:
    member_type = 2 if member_id.startswith("wm") else 1
    return GroupMemberInfo(member_id, member_type, f"名{member_id}", nickname, "", joined, 3, "")


def _group(*members: GroupMemberInfo, version: str = "v1") -> GroupChatInfo:
    return GroupChatInfo("wrGROUP", "测试群", "rep1", T0, "", members, version)


@contextmanager
def _member_writes(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements that write group_members while the block runs."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.split(" ", 1)[0] in ("INSERT", "UPDATE", "DELETE") and "group_members" in statement:
            seen.append(statement.split(" ", 1)[0])

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)


async def _apply(engine: AsyncEngine, info: GroupChatInfo | None, now: datetime) -> None:
    async with make_sessionmaker(engine)() as session, session.begin():
        await apply_group(session, "wrGROUP", info, {}, None, now)


async def _stored(engine: AsyncEngine) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """(member_id → group nickname, [(external_userid, entry kind)] in write order)."""
    async with make_sessionmaker(engine)() as session:
        members = (await session.execute(select(GroupMember).where(GroupMember.chat_id == "wrGROUP"))).scalars()
        entries = await session.execute(
            select(Customer.external_userid, CustomerEvent.kind)
            .join(Customer, Customer.id == CustomerEvent.customer_id)
            .order_by(CustomerEvent.id)
        )
        return {m.member_id: m.group_nickname for m in members}, [(str(e), k) for e, k in entries.all()]


async def test_group_snapshot_writes_only_the_difference_when_members_join_leave_and_change(
    engine: AsyncEngine,
) -> None:
    await _apply(engine, _group(_member("rep1"), _member("wmA"), _member("wmB")), T0)

    later = T0 + timedelta(hours=1)
    changed = _group(_member("rep1"), _member("wmA", "小A"), _member("wmC", joined=later), version="v2")
    with _member_writes(engine) as writes:
        await _apply(engine, changed, later)
    assert sorted(writes) == ["DELETE", "INSERT"]  # wmB's leave; wmA's new nickname and wmC's join in one upsert
    members, entries = await _stored(engine)
    assert members == {"rep1": "", "wmA": "小A", "wmC": ""}
    assert entries == [
        ("wmA", "joined_group"),
        ("wmB", "joined_group"),
        ("wmC", "joined_group"),
        ("wmB", "left_group"),
    ]

    with _member_writes(engine) as writes:
        await _apply(engine, changed, later + timedelta(minutes=5))
    assert writes == []
    assert await _stored(engine) == (members, entries)


async def test_dismissed_group_keeps_no_members_and_tells_each_customer_when_the_directory_lost_it(
    engine: AsyncEngine,
) -> None:
    await _apply(engine, _group(_member("rep1"), _member("wmA"), _member("wmB")), T0)

    with _member_writes(engine) as writes:
        await _apply(engine, None, T0 + timedelta(days=1))

    assert writes == ["DELETE"]
    members, entries = await _stored(engine)
    assert members == {}
    assert entries[2:] == [("wmA", "group_dismissed"), ("wmB", "group_dismissed")]
    async with make_sessionmaker(engine)() as session:
        group = await session.get(Group, "wrGROUP")
        assert group is not None and group.status == "dismissed"
