"""Read access to the corp's directory (contacts, groups, members) as platform-free data.

Handlers re-read the directory instead of trusting callback payloads: customer-contact events can be late,
duplicated or out of order (WECOM.md §2b), while the directory always tells the current state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class TagInfo:
    tag_id: str
    name: str
    group_name: str


@dataclass(frozen=True, slots=True)
class FollowInfo:
    userid: str
    remark: str
    description: str
    added_at: datetime | None
    tags: tuple[TagInfo, ...]
    add_way: int
    state: str


@dataclass(frozen=True, slots=True)
class ExternalContactInfo:
    external_userid: str
    name: str
    avatar: str
    corp_name: str
    contact_type: int
    gender: int
    unionid: str
    follows: tuple[FollowInfo, ...]


@dataclass(frozen=True, slots=True)
class GroupMemberInfo:
    member_id: str
    member_type: int  # 1 member, 2 external customer
    name: str
    group_nickname: str
    unionid: str
    join_time: datetime | None
    join_scene: int  # 1 direct invite, 2 invite link, 3 QR
    invitor_userid: str


@dataclass(frozen=True, slots=True)
class GroupChatInfo:
    chat_id: str
    name: str
    owner_userid: str
    created_at: datetime | None
    notice: str
    members: tuple[GroupMemberInfo, ...]
    member_version: str


@dataclass(frozen=True, slots=True)
class MemberInfo:
    userid: str
    name: str
    position: str


@dataclass(frozen=True, slots=True)
class ContactPage:
    """One page of externalcontact/batch/get_by_user: each contact carries exactly one follow, the listed member's,
    whose tags have ids only (names come from the corp tag list)."""

    contacts: tuple[ExternalContactInfo, ...]
    next_cursor: str


class DirectoryUnavailable(Exception):
    """The directory could not be read now (network, rate limit, server error); the caller retries later."""


class ContactDirectory(Protocol):
    async def get_external_contact(self, external_userid: str) -> ExternalContactInfo | None:
        """The customer and the members who still have them; None when no member has them (or the id is unknown)."""
        ...

    async def get_group_chat(self, chat_id: str) -> GroupChatInfo | None:
        """The group as it is now; None when it no longer exists (dismissed) or is not a customer group."""
        ...

    async def get_member(self, userid: str) -> MemberInfo | None: ...

    async def list_group_chat_ids(self) -> list[str]: ...


class ContactRoster(Protocol):
    """Bulk reads for the day-one import of every contact (WECOM.md §3.5)."""

    async def list_follow_userids(self) -> list[str]:
        """The members in the app's visibility who may have customers (get_follow_user_list)."""
        ...

    async def contacts_of_members(self, userids: list[str], cursor: str, limit: int) -> ContactPage: ...

    async def corp_tags(self) -> dict[str, TagInfo]:
        """Every corp tag by tag_id, with its name and group name."""
        ...
