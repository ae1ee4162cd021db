"""Timeline entries: the kinds of lifecycle facts and how they read in Chinese for reps and managers."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

JOIN_SCENES: dict[str, str] = {"qr": "扫码", "link": "通过邀请链接", "invite": "被邀请", "unknown": ""}
TRANSFER_REASONS: dict[str, str] = {
    "customer_refused": "客户拒绝",
    "customer_limit_exceed": "接替成员的客户数已达上限",
}


class EntryKind(StrEnum):
    ADDED_MEMBER = "added_member"
    MEMBER_DELETED_CUSTOMER = "member_deleted_customer"
    CUSTOMER_DELETED_MEMBER = "customer_deleted_member"
    TRANSFER_FAILED = "transfer_failed"
    JOINED_GROUP = "joined_group"
    LEFT_GROUP = "left_group"
    REMOVED_FROM_GROUP = "removed_from_group"
    GROUP_DISMISSED = "group_dismissed"


def scene_from_join_code(code: int) -> str:
    """groupchat/get's join_scene: 1 direct invite, 2 invite link, 3 QR code."""
    return {1: "invite", 2: "link", 3: "qr"}.get(code, "unknown")


def describe(kind: str, member_name: str, group_name: str, detail: Mapping[str, Any]) -> str:
    """One line of Simplified Chinese for a timeline entry."""
    group = f"群「{group_name}」" if group_name else "客户群"
    if kind == EntryKind.ADDED_MEMBER:
        via = f"（渠道：{detail['state']}）" if detail.get("state") else ""
        return f"添加了 {member_name} 为联系人{via}"
    if kind == EntryKind.MEMBER_DELETED_CUSTOMER:
        return f"被 {member_name} 删除" + ("（离职继承）" if detail.get("by_transfer") else "")
    if kind == EntryKind.CUSTOMER_DELETED_MEMBER:
        return f"删除了 {member_name}"
    if kind == EntryKind.TRANSFER_FAILED:
        reason = TRANSFER_REASONS.get(str(detail.get("reason", "")), str(detail.get("reason", "")))
        return f"转接给 {member_name} 失败（{reason}）"
    if kind == EntryKind.JOINED_GROUP:
        return f"{JOIN_SCENES.get(str(detail.get('scene', 'unknown')), '')}加入{group}"
    if kind == EntryKind.LEFT_GROUP:
        return f"退出{group}"
    if kind == EntryKind.REMOVED_FROM_GROUP:
        return f"被移出{group}"
    if kind == EntryKind.GROUP_DISMISSED:
        return f"{group}已解散"
    return kind
