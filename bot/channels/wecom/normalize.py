"""Turn a stored WeCom callback into a normalized, platform-free event (bot/events.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.channels.wecom.parse import Callback, parse_xml, to_callback
from bot.events import (
    ArchivePullRequested,
    CustomerAdded,
    CustomerDeletedByMember,
    CustomerEdited,
    CustomerTransferFailed,
    Event,
    GroupChange,
    GroupCreated,
    GroupDismissed,
    GroupUpdated,
    JoinScene,
    KfPullRequested,
    MemberDeletedByCustomer,
    MemberText,
    QuitScene,
    Unrecognized,
)


def event_from_payload(payload: str, source_key: str, received_at: datetime) -> Event:
    callback = to_callback(parse_xml(payload))
    occurred_at = _created(callback) or received_at
    return _build(callback, source_key, occurred_at)


def _created(callback: Callback) -> datetime | None:
    try:
        seconds = int(callback.get("CreateTime"))
    except ValueError:
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


def _build(cb: Callback, key: str, at: datetime) -> Event:
    member, customer = cb.get("UserID"), cb.get("ExternalUserID")
    match cb.kind:
        case "change_external_contact/add_external_contact" | "change_external_contact/add_half_external_contact":
            half = cb.kind.endswith("add_half_external_contact")
            return CustomerAdded(at, key, member, customer, cb.get("State"), half, cb.get("WelcomeCode"))
        case "change_external_contact/edit_external_contact":
            return CustomerEdited(at, key, member, customer)
        case "change_external_contact/del_external_contact":
            return CustomerDeletedByMember(at, key, member, customer, cb.get("Source") == "DELETE_BY_TRANSFER")
        case "change_external_contact/del_follow_user":
            return MemberDeletedByCustomer(at, key, member, customer)
        case "change_external_contact/transfer_fail":
            return CustomerTransferFailed(at, key, member, customer, cb.get("FailReason"))
        case "change_external_chat/create":
            return GroupCreated(at, key, cb.get("ChatId"))
        case "change_external_chat/dismiss":
            return GroupDismissed(at, key, cb.get("ChatId"))
        case "change_external_chat/update":
            return _group_update(cb, key, at)
        case "kf_msg_or_event":
            return KfPullRequested(at, key, cb.get("OpenKfId"), cb.get("Token"))
        case "msgaudit_notify":
            return ArchivePullRequested(at, key)
        case "text" if cb.get("FromUserName"):
            return MemberText(at, key, cb.get("FromUserName"), cb.get("Content"))
    return Unrecognized(at, key, cb.kind)


def _group_update(cb: Callback, key: str, at: datetime) -> GroupUpdated:
    detail = cb.get("UpdateDetail")
    change = GroupChange(detail) if detail in GroupChange._value2member_map_ else GroupChange.OTHER
    join = {"0": JoinScene.INVITED, "3": JoinScene.QR}.get(cb.get("JoinScene"), JoinScene.UNKNOWN)
    quit_scene = {"0": QuitScene.LEFT, "1": QuitScene.REMOVED}.get(cb.get("QuitScene"), QuitScene.UNKNOWN)
    return GroupUpdated(
        at,
        key,
        cb.get("ChatId"),
        change,
        tuple(cb.items_of("MemChangeList")),
        join,
        quit_scene,
        cb.get("CurMemVer"),
    )
