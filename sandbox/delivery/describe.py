"""One line per sending-side log record (message, mass task, fault, limit hit), in Chinese for `sandbox log`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from sandbox.wire import Json

SUMMARY_CHARS: Final = 24
REASONS: Final = {
    "member_per_minute": "超过每成员每分钟 30 条",
    "member_per_hour": "超过每成员每小时 1000 条",
    "app_daily_cap": "超过应用每日上限",
    "over_limit": "超过本月接收上限",
    "not_a_friend": "已不是好友",
    "group_unavailable": "客户群不可用",
    "cancelled": "任务已停止",
    "per_minute": "超过每分钟上限",
    "per_hour": "超过每小时上限",
    "blocked": "限流封禁中",
    "concurrent_reads": "并发读取过多",
}
TASK_ACTIONS: Final = {"created": "创建", "confirmed": "成员确认发送", "reminded": "提醒成员", "cancelled": "停止"}

# (投递 column, 事件 column, 结果 column) of one log entry.
Row = tuple[str, str, str]


def _short(value: object) -> str:
    text = str(value or "")
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _reason(entry: Json) -> str:
    reason = str(entry.get("reason"))
    return REASONS.get(reason, reason)


def _app_message(entry: Json) -> Row:
    return _short(entry.get("msgid")), f"应用消息 → {entry.get('userid')}：{_short(entry.get('content'))}", "送达"


def _app_dropped(entry: Json) -> Row:
    return _short(entry.get("msgid")), f"应用消息 → {entry.get('userid')}", f"丢弃：{_reason(entry)}"


def _app_duplicate(entry: Json) -> Row:
    return _short(entry.get("msgid")), f"应用消息 → {entry.get('userid')}", "重复请求，未再次送达"


def _mass_target(entry: Json) -> str:
    target = entry.get("external_userid") or entry.get("chat_id")
    return f"群发 {entry.get('sender')} → {_short(target)}"


def _mass_message(entry: Json) -> Row:
    return _short(entry.get("msgid")), _mass_target(entry), "送达"


def _mass_skipped(entry: Json) -> Row:
    return _short(entry.get("msgid")), _mass_target(entry), f"跳过：{_reason(entry)}"


def _task_outcome(entry: Json) -> str:
    action, get = entry.get("action"), entry.get
    if action == "created":
        return f"{get('members')} 名成员，{get('targets')} 个发送对象，{get('failed')} 个无法发送"
    if action == "confirmed":
        return f"送达 {get('sent')}，跳过 {get('skipped')}"
    if action == "reminded":
        return f"{get('members')} 名成员尚未发送"
    return f"停止 {get('members')} 名成员的发送"


def _mass_task(entry: Json) -> Row:
    action = str(entry.get("action"))
    who = f"（{entry.get('userid')}）" if entry.get("userid") else ""
    return _short(entry.get("msgid")), f"群发任务：{TASK_ACTIONS.get(action, action)}{who}", _task_outcome(entry)


def _fault(entry: Json) -> Row:
    if entry.get("errcode") is not None:
        effect = f"应答 errcode {entry.get('errcode')}"
    elif entry.get("drop"):
        effect = "断开连接（已执行）" if entry.get("executed") else "断开连接（未执行）"
    else:
        effect = "延迟应答（已执行）"
    if entry.get("latency_ms"):
        effect += f"，延迟 {entry.get('latency_ms')} 毫秒"
    return str(entry.get("fault_id")), f"故障注入 {entry.get('api')}", effect


def _api_limited(entry: Json) -> Row:
    return "", f"接口限流 {entry.get('api')}", f"{entry.get('errcode')}：{_reason(entry)}"


def _member_app_text(entry: Json) -> Row:
    return _short(entry.get("delivery_id")), f"成员 {entry.get('userid')} → 应用：{_short(entry.get('text'))}", "已推送"


DESCRIBE: Final[dict[str, Callable[[Json], Row]]] = {
    "member_app_text": _member_app_text,
    "app_message": _app_message,
    "app_message_dropped": _app_dropped,
    "app_message_duplicate": _app_duplicate,
    "mass_message": _mass_message,
    "mass_message_skipped": _mass_skipped,
    "mass_task": _mass_task,
    "fault": _fault,
    "api_limited": _api_limited,
}


def describe_entry(entry: Json) -> Row | None:
    """The log columns for a sending-side record, or None for a kind this module does not know."""
    describe = DESCRIBE.get(str(entry.get("kind")))
    return describe(entry) if describe is not None else None
