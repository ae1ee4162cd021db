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
    MERGED = "merged"
    UNMERGED = "unmerged"
    OA_FOLLOWED = "oa_followed"
    OA_UNFOLLOWED = "oa_unfollowed"
    KF_ENTER = "kf_enter"
    KF_TAKEN = "kf_taken"
    KF_TRANSFERRED = "kf_transferred"
    KF_ENDED = "kf_ended"
    KF_REENTERED = "kf_reentered"
    KF_SEND_FAILED = "kf_send_failed"
    CSAT_ANSWERED = "csat_answered"
    NPS_ANSWERED = "nps_answered"
    PURCHASE = "purchase"  # from the purchases table, not customer_events
    OA_WITH_PERSON = "oa_with_person"  # services/faq/oa_person.py: the OA follower is held for a person
    OA_PERSON_RELEASED = "oa_person_released"


CHANNEL_NAMES: dict[str, str] = {"kf": "微信客服", "archive": "会话存档", "oa": "公众号"}
MEDIA_LABELS: dict[str, str] = {
    "image": "图片",
    "voice": "语音",
    "video": "视频",
    "file": "文件",
    "location": "位置",
    "link": "链接",
    "emotion": "表情",
    "business_card": "名片",
    "card": "名片",
    "miniprogram": "小程序",
    "weapp": "小程序",
    "msgmenu": "菜单消息",
    "chatrecord": "聊天记录",
    "markdown": "Markdown",
}
OA_RELEASE_REASONS: dict[str, str] = {
    "ticket_solved": "工单{ticket}已解决",
    "ticket_closed": "工单{ticket}已关闭",
    "idle": "客户长时间没有新消息",
}
KF_SEND_FAILURES: dict[int, str] = {
    1: "客服账号已删除",
    2: "应用已关闭",
    4: "会话已超过48小时",
    5: "会话已结束",
    6: "超过5条消息上限",
    10: "用户拒收",
    11: "没有成员登录",
    12: "消息类型不允许",
}


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
    return _describe_more(kind, member_name, detail)


def _describe_more(kind: str, member_name: str, detail: Mapping[str, Any]) -> str:
    other = f"{detail.get('other_name') or ''}（编号 {detail.get('other_id')}）"
    if kind == EntryKind.MERGED:
        how = "因 unionid 相同自动" if detail.get("reason") == "unionid" else "手动"
        return f"{how}合并了客户档案 {other}"
    if kind == EntryKind.UNMERGED:
        return f"取消合并，拆分出客户档案 {other}"
    texts = {
        EntryKind.OA_FOLLOWED: "关注了公众号",
        EntryKind.OA_UNFOLLOWED: "取消关注公众号",
        EntryKind.KF_ENTER: "进入微信客服会话",
        EntryKind.KF_TAKEN: f"微信客服会话由 {member_name} 接入",
        EntryKind.KF_TRANSFERRED: f"微信客服会话转给 {member_name}",
        EntryKind.KF_ENDED: "微信客服会话已结束",
        EntryKind.KF_REENTERED: "重新进入微信客服会话",
    }
    if kind in texts:
        return texts[EntryKind(kind)]
    if kind in (EntryKind.CSAT_ANSWERED, EntryKind.NPS_ANSWERED):
        return _describe_score(kind, detail)
    if kind in (EntryKind.OA_WITH_PERSON, EntryKind.OA_PERSON_RELEASED):
        return _describe_oa_hold(kind, member_name, detail)
    if kind == EntryKind.KF_SEND_FAILED:
        reason = KF_SEND_FAILURES.get(int(detail.get("fail_type", 0) or 0), "未知原因")
        return f"微信客服消息发送失败（{reason}）"
    if kind in ("opted_out", "opted_in"):  # services/customers/contact_prefs.py
        where = {"kf": "微信客服", "oa": "公众号", "archive": "聊天"}.get(str(detail.get("channel", "")), "")
        what = "退订了营销消息" if kind == "opted_out" else "恢复订阅营销消息"
        return what + (f"（在{where}回复）" if where else "")
    if kind == "tag_added":  # services/customers/tag_events.py
        return f"{member_name} 添加了标签「{detail.get('tag', '')}」"
    return kind


def _describe_oa_hold(kind: str, member_name: str, detail: Mapping[str, Any]) -> str:
    """ "公众号会话转人工（客户要求人工服务），机器人暂停自动回复，由 张三 跟进，工单 T3" and
    "公众号人工服务结束（工单 T3 已解决），机器人恢复自动回复"."""
    ticket = f" T{detail['ticket_id']} " if detail.get("ticket_id") else ""
    if kind == EntryKind.OA_PERSON_RELEASED:
        why = OA_RELEASE_REASONS.get(str(detail.get("reason", "")), str(detail.get("reason", "")))
        return f"公众号人工服务结束（{why.format(ticket=ticket).strip()}），机器人恢复自动回复"
    text = f"公众号会话转人工（{detail.get('reason') or '客户要求人工服务'}），机器人暂停自动回复"
    text += f"，由 {member_name} 跟进" if member_name else ""
    return text + (f"，工单{ticket.rstrip()}" if ticket else "")


def message_text(msgtype: str, text: str, body: Mapping[str, Any], recalled: bool) -> str:
    """What a message says, in one line: its text, or a labelled placeholder for media and unknown types."""
    if msgtype == "text":
        shown = text
    elif msgtype in MEDIA_LABELS:
        extra = text or str(body.get("filename") or body.get("title") or body.get("name") or "")
        shown = f"[{MEDIA_LABELS[msgtype]}]" + (f" {extra}" if extra else "")
    else:
        original = str(body.get("original_msgtype") or msgtype)
        shown = f"[暂不支持的消息类型：{original}]" + (f" {text}" if text else "")
    return shown + ("（已撤回）" if recalled else "")


SURVEY_TRIGGERS: dict[str, str] = {
    "ticket_solved": "工单解决后",
    "kf_session_end": "客服会话结束后",
    "purchase": "购买后",
}


def _describe_score(kind: str, detail: Mapping[str, Any]) -> str:
    """ "满意度评价：4/5 分（工单解决后，工单 T12）" or "推荐意愿（NPS）：9/10 分"."""
    what, scale = ("满意度评价", 5) if kind == EntryKind.CSAT_ANSWERED else ("推荐意愿（NPS）", 10)
    context = [SURVEY_TRIGGERS.get(str(detail.get("trigger", "")), "")]
    if detail.get("ticket_id"):
        context.append(f"工单 T{detail['ticket_id']}")
    shown = "，".join(c for c in context if c)
    return f"{what}：{detail.get('score')}/{scale} 分" + (f"（{shown}）" if shown else "")


def describe_purchase(item: str, amount_cents: int) -> str:
    """A purchase on the timeline: "购买 商品（¥199.00）"."""
    amount = f"¥{amount_cents // 100}.{amount_cents % 100:02d}"
    return f"购买 {item or '（未注明商品）'}（{amount}）"
