"""Customer groups: apply the directory's snapshot and turn membership changes into timeline entries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.customers.contacts import apply_contact
from services.customers.directory import ExternalContactInfo, GroupChatInfo, GroupMemberInfo
from services.customers.timeline import EntryKind, scene_from_join_code
from storage.models.customers import Customer
from storage.models.groups import GroupMember, GroupStatus
from storage.repos import contacts, groups, timeline

EXTERNAL = 2
# WeChat customers' external_userids start with "wm" or "wo"; members' userids never do.
EXTERNAL_PREFIXES = ("wm", "wo")
# WeCom stamps join_time and the callback's CreateTime from the same moment; allow for clock granularity.
STINT_TOLERANCE = timedelta(seconds=5)


@dataclass(frozen=True, slots=True)
class MembershipChange:
    """What a callback said changed; empty `ids` means it did not say (older callbacks), so diff instead."""

    joined: bool
    ids: tuple[str, ...]
    scene: str  # for joins: qr / invite / link / unknown
    removed: bool  # for leaves: removed by the owner or an admin
    source_key: str
    occurred_at: datetime


def looks_external(member_id: str) -> bool:
    return member_id.startswith(EXTERNAL_PREFIXES)


def external_ids_to_resolve(info: GroupChatInfo | None, change: MembershipChange | None) -> set[str]:
    ids = {m.member_id for m in info.members if m.member_type == EXTERNAL} if info else set()
    if change is not None:
        ids |= {i for i in change.ids if looks_external(i)}
    return ids


async def apply_group(
    session: AsyncSession,
    chat_id: str,
    info: GroupChatInfo | None,
    profiles: Mapping[str, ExternalContactInfo | None],
    change: MembershipChange | None,
    now: datetime,
) -> None:
    """Store the snapshot and write timeline entries; `profiles` covers externals not stored yet."""
    group = await groups.get_or_add_group(session, chat_id)
    before = await groups.members_of(session, chat_id)
    if info is None:
        await _dismiss(session, chat_id, before, now)
        group.status, group.synced_at = GroupStatus.DISMISSED, now
        return
    group.name, group.owner_userid, group.notice = info.name, info.owner_userid, info.notice
    group.created_at, group.member_version = info.created_at, info.member_version
    group.status, group.synced_at = GroupStatus.ACTIVE, now
    customers = await _customers_for(session, info, change, profiles, now)
    after = [_row(chat_id, m, customers) for m in info.members]
    await groups.replace_members(session, chat_id, after)
    if change is not None and change.ids:
        await _record_change(session, chat_id, change, before, {m.member_id: m for m in after}, customers)
    else:
        await _record_diff(session, chat_id, before, after, now)


async def _customers_for(
    session: AsyncSession,
    info: GroupChatInfo,
    change: MembershipChange | None,
    profiles: Mapping[str, ExternalContactInfo | None],
    now: datetime,
) -> dict[str, Customer]:
    names = {m.member_id: m.name for m in info.members}
    wanted = external_ids_to_resolve(info, change)
    found = await contacts.customers_by_external_ids(session, wanted)
    for external_userid in sorted(i for i in wanted if i not in found or found[i].synced_at is None):
        found[external_userid] = await apply_contact(
            session,
            external_userid,
            profiles.get(external_userid),
            now,
            fallback_name=names.get(external_userid, ""),
        )
    by_unionid = {m.member_id: m.unionid for m in info.members if m.unionid}
    for external_userid, customer in found.items():
        if not customer.unionid and by_unionid.get(external_userid):
            customer.unionid = by_unionid[external_userid]
    return found


def _row(chat_id: str, m: GroupMemberInfo, customers: Mapping[str, Customer]) -> GroupMember:
    customer = customers.get(m.member_id) if m.member_type == EXTERNAL else None
    return GroupMember(
        chat_id=chat_id,
        member_id=m.member_id,
        member_type=m.member_type,
        customer_id=customer.id if customer else None,
        name=m.name,
        group_nickname=m.group_nickname,
        join_time=m.join_time,
        join_scene=m.join_scene,
        invitor_userid=m.invitor_userid,
    )


def _stint(member: GroupMember | None) -> str | None:
    """Identifies one stay in the group, so an event and a later resync describe the same join or leave."""
    if member is None or member.join_time is None:
        return None
    return str(int(member.join_time.timestamp()))


def _join_stint(member: GroupMember | None, event_at: datetime) -> str | None:
    # A late join event may meet a snapshot from a later stay (left and came back): only a join_time at the
    # event's own moment names the stay this event is about.
    if member is None or member.join_time is None or abs(member.join_time - event_at) > STINT_TOLERANCE:
        return None
    return _stint(member)


def _leave_stint(member: GroupMember | None, event_at: datetime) -> str | None:
    if member is None or member.join_time is None or member.join_time > event_at + STINT_TOLERANCE:
        return None
    return _stint(member)


async def _record_change(
    session: AsyncSession,
    chat_id: str,
    change: MembershipChange,
    before: Mapping[str, GroupMember],
    after: Mapping[str, GroupMember],
    customers: Mapping[str, Customer],
) -> None:
    for member_id in change.ids:
        customer = customers.get(member_id)
        if customer is None:
            continue
        if change.joined:
            now_member = after.get(member_id)
            same_stay = _join_stint(now_member, change.occurred_at)
            scene = scene_from_join_code(now_member.join_scene) if now_member and same_stay else change.scene
            stint = same_stay or f"evt:{change.source_key}"
            kind, key, detail = (
                EntryKind.JOINED_GROUP,
                f"join:{chat_id}:{member_id}:{stint}",
                {"scene": scene},
            )
        else:
            stint = _leave_stint(before.get(member_id), change.occurred_at) or f"evt:{change.source_key}"
            kind = EntryKind.REMOVED_FROM_GROUP if change.removed else EntryKind.LEFT_GROUP
            key, detail = f"leave:{chat_id}:{member_id}:{stint}", {}
        await timeline.add_event_once(
            session,
            customer_id=customer.id,
            kind=kind,
            occurred_at=change.occurred_at,
            source_key=key,
            chat_id=chat_id,
            detail=detail,
        )


async def _record_diff(
    session: AsyncSession,
    chat_id: str,
    before: Mapping[str, GroupMember],
    after: Sequence[GroupMember],
    now: datetime,
) -> None:
    current = {m.member_id: m for m in after}
    for member in after:
        if member.customer_id is not None and member.member_id not in before:
            if await _already_recorded(session, member.customer_id, chat_id, _JOIN_KINDS, member.join_time, now):
                continue
            await timeline.add_event_once(
                session,
                customer_id=member.customer_id,
                kind=EntryKind.JOINED_GROUP,
                occurred_at=member.join_time or now,
                source_key=f"join:{chat_id}:{member.member_id}:{_stint(member) or now.timestamp()}",
                chat_id=chat_id,
                detail={"scene": scene_from_join_code(member.join_scene)},
            )
    for member_id, member in before.items():
        if member.customer_id is not None and member_id not in current:
            if await _already_recorded(session, member.customer_id, chat_id, _LEAVE_KINDS, member.join_time, now):
                continue
            await timeline.add_event_once(
                session,
                customer_id=member.customer_id,
                kind=EntryKind.LEFT_GROUP,
                occurred_at=now,
                source_key=f"leave:{chat_id}:{member_id}:{_stint(member) or now.timestamp()}",
                chat_id=chat_id,
            )


async def _dismiss(session: AsyncSession, chat_id: str, before: Mapping[str, GroupMember], now: datetime) -> None:
    for member_id, member in before.items():
        if member.customer_id is not None:
            await timeline.add_event_once(
                session,
                customer_id=member.customer_id,
                kind=EntryKind.GROUP_DISMISSED,
                occurred_at=now,
                source_key=f"dismiss:{chat_id}:{member_id}:{_stint(member) or now.timestamp()}",
                chat_id=chat_id,
            )
    await groups.replace_members(session, chat_id, [])


_JOIN_KINDS = (EntryKind.JOINED_GROUP,)
_LEAVE_KINDS = (EntryKind.LEFT_GROUP, EntryKind.REMOVED_FROM_GROUP)


async def _already_recorded(
    session: AsyncSession,
    customer_id: int,
    chat_id: str,
    kinds: Sequence[str],
    join_time: datetime | None,
    now: datetime,
) -> bool:
    """A re-read after a lagging snapshot: the event already put this stay's join (or its end) on the timeline.

    groupchat/get may answer the old member list for a while after a change event (WECOM.md §2b), so the event
    was recorded under its own key and the re-read that finally sees the change must not record it again. A
    join counts if recorded near this stay's join_time; a leave if recorded at any time after the stay began.
    """
    if join_time is None:
        return False
    since = join_time - STINT_TOLERANCE if kinds == _JOIN_KINDS else join_time
    return await timeline.has_event_since(
        session, customer_id=customer_id, kinds=kinds, chat_id=chat_id, since=min(since, now)
    )
