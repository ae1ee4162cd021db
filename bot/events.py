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
    welcome_code: str = ""  # send_welcome_msg may use it once within 20 s (absent when the console welcomes)


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
class FaqQuestionQueued(Event):
    """Qunke's own follow-up: decide and act on one stored customer message (handlers/faq), in its own unit of work."""

    message_key: str  # the stored message's source key, "<channel>:<msgid>"


@dataclass(frozen=True, slots=True)
class GroupResync(Event):
    """Qunke's own follow-up: re-read a group whose snapshot did not yet match the callback's version."""

    chat_id: str


class MessageChannel(StrEnum):
    KF = "kf"
    ARCHIVE = "archive"
    OA = "oa"


class ChatKind(StrEnum):
    GROUP = "group"
    SINGLE = "single"
    KF = "kf"
    OA = "oa"


class Speaker(StrEnum):
    CUSTOMER = "customer"
    MEMBER = "member"
    ROBOT = "robot"
    BOT = "bot"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Person:
    """Who the customer in a chat is, as far as the channel says: an external_userid, an OA openid, a unionid."""

    external_userid: str = ""
    openid: str = ""
    unionid: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class ChatMessage(Event):
    """A message said in any chat (kf, customer group, a rep's 1:1 chat, the Official Account).

    `customer` is the customer the chat is with (the sender, or the other side of a 1:1 chat); None for a member
    or robot speaking in a group. `body` keeps the channel's own fields (media ids, file names, unknown types raw).
    """

    channel: MessageChannel
    chat_kind: ChatKind
    chat_id: str
    msgid: str
    speaker: Speaker
    speaker_id: str
    customer: Person | None
    member_userid: str | None
    msgtype: str
    text: str
    body: dict[str, object]
    menu_id: str = ""


@dataclass(frozen=True, slots=True)
class MessageRecalled(Event):
    channel: MessageChannel
    msgid: str
    by: str


@dataclass(frozen=True, slots=True)
class KfSessionChanged(Event):
    """A kf session event (enter, taken, transferred, ended, send failure) with the state WeCom now reports.

    `state` is None when unknown; `code` is a send_msg_on_event code (welcome or session end) when WeCom gave one.
    """

    open_kfid: str
    customer: Person
    change: str
    state: int | None
    servicer_userid: str
    code: str
    code_kind: str
    detail: dict[str, object]


@dataclass(frozen=True, slots=True)
class OaFollowChanged(Event):
    openid: str
    followed: bool
    unionid: str = ""  # from the OA's user/info, read before the event is handled (officialaccount/followers.py)


@dataclass(frozen=True, slots=True)
class KfPullRequested(Event):
    """`kf_msg_or_event`: new messages wait in a kf account; the kf puller reads them with the callback's token."""

    open_kfid: str
    token: str


@dataclass(frozen=True, slots=True)
class ArchivePullRequested(Event):
    """`msgaudit_notify` (or the fallback timer): new archived messages may wait; the archive puller reads them."""
