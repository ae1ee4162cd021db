"""The Chinese words the 营销 pages show for a campaign's kind, status, path and funnel steps."""

from __future__ import annotations

from typing import Any, Final

KINDS: Final = {"broadcast": "单次群发", "recurring": "周期群发", "automation": "自动化"}
STATUSES: Final = {"active": "进行中", "paused": "已暂停", "cancelled": "已取消", "finished": "已完成"}
PATHS: Final = {
    "mass_single": "客户群发（成员确认）",
    "mass_group": "客户群群发",
    "kf": "微信客服",
    "oa_template": "公众号模板消息",
    "member_reminder": "成员提醒",
    "followup": "跟进任务",
}
SKIP_REASONS: Final = {
    "opted_out": "已退订",
    "no_owner": "无负责人",
    "no_external_userid": "无外部联系人 ID",
    "dedupe": "当日已被其他活动触达",
    "frequency_cap": "频次上限",
    "monthly_cap": "企业微信每月上限",
    "template": "模板变量缺失",
    "no_window": "客服会话窗口已关闭",
}
RUN_STATUSES: Final = {"selecting": "筛选受众中", "dispatching": "发送中", "done": "已完成", "stopped": "已停止"}
ACTIONS: Final = {"pause": "暂停", "resume": "恢复", "cancel": "取消"}


def funnel_steps(funnel: dict[str, Any]) -> list[tuple[str, int]]:
    """The funnel as (label, count) in order: what the chart draws and the table lists."""
    steps = [("目标客户", funnel["audience"]), ("留出对照组", funnel["held_out"])]
    steps += [(f"跳过：{SKIP_REASONS.get(k, k)}", v) for k, v in sorted(funnel["skipped"].items())]
    steps += [
        ("进入群发任务的客户", funnel["in_tasks"]),
        ("已排队发送", funnel["queued"]),
        ("已创建任务", funnel["tasks_created"]),
        ("成员已确认任务", funnel["tasks_confirmed"]),
        ("已送达", funnel["delivered"]),
        ("已回复（72 小时内）", funnel["replied"]),
        ("已转化（购买）", funnel["converted"]),
    ]
    return steps
