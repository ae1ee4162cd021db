"""Customer groups: apply the directory's snapshot and turn membership changes into timeline entries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.customers.contact_sync import DirectoryAnswer, apply_contacts
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
    known: Mapping[str, Customer] | None = None,
) -> None:
    """Store the snapshot and write timeline entries; `profiles` covers externals not stored yet, `known` the
    stored customers the caller already read. Set-based: the stored members are read once and diffed here, and
    the difference and the entries are written a statement each."""
    group = await groups.get_or_add_group(session, chat_id)
    before = await groups.members_of(session, chat_id)
    if info is None:
        await timeline.add_events_once(session, _dismissals(chat_id, before, now))
        await groups.sync_members(session, chat_id, before, [])
        group.status, group.synced_at = GroupStatus.DISMISSED, now
        return
    group.name, group.owner_userid, group.notice = info.name, info.owner_userid, info.notice
    group.created_at, group.member_version = info.created_at, info.member_version
    group.status, group.synced_at = GroupStatus.ACTIVE, now
    customers = await _customers_for(session, info, change, profiles, now, known)
    after = [_row(chat_id, m, customers) for m in info.members]
    await groups.sync_members(session, chat_id, before, after)
    if change is not None and change.ids:
        entries = _change_entries(chat_id, change, before, {m.member_id: m for m in after}, customers)
    else:
        entries = await _diff_entries(session, chat_id, before, after, now)
    await timeline.add_events_once(session, entries)


async def _customers_for(
    session: AsyncSession,
    info: GroupChatInfo,
    change: MembershipChange | None,
    profiles: Mapping[str, ExternalContactInfo | None],
    now: datetime,
    known: Mapping[str, Customer] | None,
) -> dict[str, Customer]:
    names = {m.member_id: m.name for m in info.members}
    wanted = external_ids_to_resolve(info, change)
    # The caller read the stored ones of `wanted` under the group's lock; any other is not stored yet.
    if known is None:
        found = await contacts.customers_by_external_ids(session, wanted)
    else:
        found = {i: known[i] for i in wanted if i in known}
    unknown = sorted(i for i in wanted if i not in found or found[i].synced_at is None)
    answers = [DirectoryAnswer(i, profiles.get(i), names.get(i, "")) for i in unknown]
    found.update(await apply_contacts(session, answers, now, found))  # a first read of a big group: hundreds at once
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


Entry = dict[str, Any]


def _change_entries(
    chat_id: str,
    change: MembershipChange,
    before: Mapping[str, GroupMember],
    after: Mapping[str, GroupMember],
    customers: Mapping[str, Customer],
) -> list[Entry]:
    entries = []
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
        entries.append(_entry(customer.id, kind, change.occurred_at, key, chat_id, detail))
    return entries


def _entry(customer_id: int, kind: str, at: datetime, key: str, chat_id: str, detail: Entry | None = None) -> Entry:
    return {
        "customer_id": customer_id,
        "kind": kind,
        "occurred_at": at,
        "source_key": key,
        "chat_id": chat_id,
        "detail": detail or {},
    }


async def _diff_entries(
    session: AsyncSession,
    chat_id: str,
    before: Mapping[str, GroupMember],
    after: Sequence[GroupMember],
    now: datetime,
) -> list[Entry]:
    current = {m.member_id: m for m in after}
    joined = [m for m in after if m.customer_id is not None and m.member_id not in before]
    left = [m for member_id, m in before.items() if m.customer_id is not None and member_id not in current]
    recorded = await _Recorded.read(session, chat_id, joined, left, now)
    entries = [
        _entry(
            member.customer_id,
            EntryKind.JOINED_GROUP,
            member.join_time or now,
            f"join:{chat_id}:{member.member_id}:{_stint(member) or now.timestamp()}",
            chat_id,
            {"scene": scene_from_join_code(member.join_scene)},
        )
        for member in joined
        if member.customer_id is not None and not recorded.has(member, _JOIN_KINDS, now)
    ]
    entries += [
        _entry(
            member.customer_id,
            EntryKind.LEFT_GROUP,
            now,
            f"leave:{chat_id}:{member.member_id}:{_stint(member) or now.timestamp()}",
            chat_id,
        )
        for member in left
        if member.customer_id is not None and not recorded.has(member, _LEAVE_KINDS, now)
    ]
    return entries


def _dismissals(chat_id: str, before: Mapping[str, GroupMember], now: datetime) -> list[Entry]:
    return [
        _entry(
            member.customer_id,
            EntryKind.GROUP_DISMISSED,
            now,
            f"dismiss:{chat_id}:{member_id}:{_stint(member) or now.timestamp()}",
            chat_id,
        )
        for member_id, member in before.items()
        if member.customer_id is not None
    ]


_JOIN_KINDS = (EntryKind.JOINED_GROUP,)
_LEAVE_KINDS = (EntryKind.LEFT_GROUP, EntryKind.REMOVED_FROM_GROUP)


class _Recorded:
    """A re-read after a lagging snapshot: the event already put this stay's join (or its end) on the timeline.

    groupchat/get may answer the old member list for a while after a change event (WECOM.md §2b), so the event
    was recorded under its own key and the re-read that finally sees the change must not record it again. A
    join counts if recorded near this stay's join_time; a leave if recorded at any time after the stay began.
    The entries of every joiner and leaver of the snapshot are read at once, from the earliest moment any of them
    could need.
    """

    def __init__(self, seen: list[tuple[int, str, datetime]]) -> None:
        self._seen = seen

    @classmethod
    async def read(
        cls,
        session: AsyncSession,
        chat_id: str,
        joined: Sequence[GroupMember],
        left: Sequence[GroupMember],
        now: datetime,
    ) -> _Recorded:
        sinces = [cls._since(m, _JOIN_KINDS, now) for m in joined] + [cls._since(m, _LEAVE_KINDS, now) for m in left]
        dated = [since for since in sinces if since is not None]
        if not dated:
            return cls([])
        ids = [m.customer_id for m in [*joined, *left] if m.customer_id is not None and m.join_time is not None]
        kinds = [*_JOIN_KINDS, *_LEAVE_KINDS]
        seen = await timeline.chat_events_since(
            session, chat_id=chat_id, customer_ids=ids, kinds=kinds, since=min(dated)
        )
        return cls(seen)

    @staticmethod
    def _since(member: GroupMember, kinds: Sequence[str], now: datetime) -> datetime | None:
        if member.join_time is None:
            return None
        since = member.join_time - STINT_TOLERANCE if kinds == _JOIN_KINDS else member.join_time
        return min(since, now)

    def has(self, member: GroupMember, kinds: Sequence[str], now: datetime) -> bool:
        since = self._since(member, kinds, now)
        if since is None:
            return False
        return any(c == member.customer_id and k in kinds and at >= since for c, k, at in self._seen)
