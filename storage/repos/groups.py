"""Customer groups and their current members."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.groups import Group, GroupMember


async def get_or_add_group(session: AsyncSession, chat_id: str) -> Group:
    existing = await session.get(Group, chat_id)
    if existing is None:
        existing = Group(chat_id=chat_id)
        session.add(existing)
        await session.flush()
    return existing


async def members_of(session: AsyncSession, chat_id: str) -> dict[str, GroupMember]:
    rows = await session.execute(select(GroupMember).where(GroupMember.chat_id == chat_id))
    return {m.member_id: m for m in rows.scalars()}


async def replace_members(session: AsyncSession, chat_id: str, members: Sequence[GroupMember]) -> None:
    """Make the stored membership exactly `members` (the directory's snapshot is the truth)."""
    await session.execute(delete(GroupMember).where(GroupMember.chat_id == chat_id))
    session.add_all(members)


async def groups_of_customer(session: AsyncSession, customer_id: int) -> list[tuple[Group, GroupMember]]:
    rows = await session.execute(
        select(Group, GroupMember)
        .join(GroupMember, GroupMember.chat_id == Group.chat_id)
        .where(GroupMember.customer_id == customer_id)
        .order_by(Group.name)
    )
    return [(g, m) for g, m in rows.all()]


async def names_of(session: AsyncSession, chat_ids: Sequence[str]) -> dict[str, str]:
    if not chat_ids:
        return {}
    rows = await session.execute(select(Group.chat_id, Group.name).where(Group.chat_id.in_(set(chat_ids))))
    return {chat_id: name for chat_id, name in rows.all()}


async def known_ids(session: AsyncSession, chat_ids: Iterable[str]) -> set[str]:
    wanted = list(set(chat_ids))
    if not wanted:
        return set()
    return set((await session.execute(select(Group.chat_id).where(Group.chat_id.in_(wanted)))).scalars())
