"""Customer groups and their current members."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.groups import Group, GroupMember
from storage.repos.contacts import insert_for

# What a snapshot says about a member; a row is rewritten only when one of these differs.
MEMBER_FIELDS: Final = (
    "member_type",
    "customer_id",
    "name",
    "group_nickname",
    "join_time",
    "join_scene",
    "invitor_userid",
)
# Rows per upsert statement: a 2,000-member group's first read stays well under either database's parameter limit.
UPSERT_CHUNK: Final = 500


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


async def sync_members(
    session: AsyncSession, chat_id: str, stored: Mapping[str, GroupMember], wanted: Sequence[GroupMember]
) -> None:
    """Make the stored membership exactly `wanted` (the directory's snapshot is the truth), writing only the
    difference from `stored` (what `members_of` returned): one DELETE for those who left, one upsert for those who
    joined or changed; nothing at all when the group is as stored. Rows rewritten here leave the session, so a
    later read in this unit of work sees the database, not the stale object."""
    by_id = {m.member_id: m for m in wanted}
    left = [member_id for member_id in stored if member_id not in by_id]
    changed = [m for m in by_id.values() if _differs(stored.get(m.member_id), m)]
    if left:
        await session.execute(
            delete(GroupMember)
            .where(GroupMember.chat_id == chat_id, GroupMember.member_id.in_(left))
            .execution_options(synchronize_session=False)
        )
    for start in range(0, len(changed), UPSERT_CHUNK):
        rows = [
            {"chat_id": chat_id, "member_id": m.member_id, **{f: getattr(m, f) for f in MEMBER_FIELDS}}
            for m in changed[start : start + UPSERT_CHUNK]
        ]
        stmt = insert_for(session, GroupMember).values(rows)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["chat_id", "member_id"], set_={f: stmt.excluded[f] for f in MEMBER_FIELDS}
            )
        )
    for member_id in [*left, *(m.member_id for m in changed if m.member_id in stored)]:
        session.expunge(stored[member_id])


def _differs(stored: GroupMember | None, wanted: GroupMember) -> bool:
    return stored is None or any(getattr(stored, f) != getattr(wanted, f) for f in MEMBER_FIELDS)


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
