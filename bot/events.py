"""Normalized, platform-free events that handlers see (DESIGN.md §2); only channels build them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class JoinScene(StrEnum):
    INVITED = "invited"
    QR = "qr"
    UNKNOWN = "unknown"


class QuitScene(StrEnum):
    LEFT = "left"
    REMOVED = "removed"
    UNKNOWN = "unknown"


class GroupChange(StrEnum):
    ADD_MEMBER = "add_member"
    DEL_MEMBER = "del_member"
    CHANGE_OWNER = "change_owner"
    CHANGE_NAME = "change_name"
    CHANGE_NOTICE = "change_notice"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Event:
    """Common fields: when it happened and the inbound record it came from (for idempotent side effects)."""

    occurred_at: datetime
    source_key: str


@dataclass(frozen=True, slots=True)
class CustomerAdded(Event):
    member_userid: str
    external_userid: str
    state: str
    half: bool  # add_half_external_contact: the customer added the member, not yet accepted both ways


@dataclass(frozen=True, slots=True)
class CustomerEdited(Event):
    member_userid: str
    external_userid: str


@dataclass(frozen=True, slots=True)
class CustomerDeletedByMember(Event):
    member_userid: str
    external_userid: str
    by_transfer: bool


@dataclass(frozen=True, slots=True)
class MemberDeletedByCustomer(Event):
    member_userid: str
    external_userid: str


@dataclass(frozen=True, slots=True)
class CustomerTransferFailed(Event):
    member_userid: str
    external_userid: str
    reason: str


@dataclass(frozen=True, slots=True)
class GroupCreated(Event):
    chat_id: str


@dataclass(frozen=True, slots=True)
class GroupDismissed(Event):
    chat_id: str


@dataclass(frozen=True, slots=True)
class GroupUpdated(Event):
    chat_id: str
    change: GroupChange
    changed_ids: tuple[str, ...]
    join_scene: JoinScene
    quit_scene: QuitScene
    member_version: str


@dataclass(frozen=True, slots=True)
class MemberText(Event):
    """A member's text message to the app (later: "认领 T123" and other rep commands)."""

    member_userid: str
    text: str


@dataclass(frozen=True, slots=True)
class Unrecognized(Event):
    """A callback Qunke has no handler for yet; kept in the inbox, marked done, never dropped silently."""

    kind: str


@dataclass(frozen=True, slots=True)
class GroupResync(Event):
    """Qunke's own follow-up: re-read a group whose snapshot did not yet match the callback's version."""

    chat_id: str
