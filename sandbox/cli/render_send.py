"""Human output for the sending side: fault, limit and task tables."""

from __future__ import annotations

from typing import Final

from rich.table import Table
from rich.text import Text

from sandbox.cli.render import console
from sandbox.wire import Json

PART_STATUS: Final = {0: "未发送", 2: "已发送"}
TARGET_STATUS: Final = {0: "未发送", 1: "已发送", 2: "非好友", 3: "超过上限"}


def _table(title: str, *columns: str) -> Table:
    table = Table(title=Text(title), title_justify="left")
    for column in columns:
        table.add_column(column)
    return table


def _row(table: Table, *cells: object) -> None:
    table.add_row(*(Text("" if cell is None else str(cell)) for cell in cells))


def _dicts(value: object) -> list[Json]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def render_faults(data: Json) -> None:
    faults = _dicts(data.get("faults"))
    if not faults:
        console.print(Text("当前没有注入的故障"))
        return
    table = _table("注入的故障", "ID", "接口", "errcode", "延迟(毫秒)", "断开连接", "剩余次数")
    for fault in faults:
        remaining = "直到清除" if fault.get("remaining") is None else fault.get("remaining")
        drop = {"before": "执行前", "after": "执行后"}.get(str(fault.get("drop")), "")
        _row(table, fault.get("id"), fault.get("api"), fault.get("errcode"), fault.get("latency_ms"), drop, remaining)
    console.print(table)


API_COLUMNS: Final = {
    "last_minute": "近1分钟",
    "last_hour": "近1小时",
    "peak_minute": "峰值/分",
    "peak_hour": "峰值/时",
    "rejected_45009": "45009",
    "peak_in_flight": "并发峰值",
    "rejected_45033": "45033",
}
MEMBER_COLUMNS: Final = {
    "last_minute": "近1分钟",
    "last_hour": "近1小时",
    "peak_minute": "峰值/分",
    "peak_hour": "峰值/时",
    "delivered": "送达",
    "dropped": "丢弃",
}


def _usage_table(title: str, first: str, columns: dict[str, str], rows: object) -> Table:
    table = _table(title, first, *columns.values())
    for name, usage in rows.items() if isinstance(rows, dict) else []:
        if isinstance(usage, dict):
            _row(table, name, *(usage.get(key) for key in columns))
    return table


def render_limits(data: Json) -> None:
    limits = data.get("limits")
    if isinstance(limits, dict):
        console.print(Text("限额：" + "，".join(f"{name}={value}" for name, value in limits.items())))
    console.print(_usage_table("接口调用（每企业每接口）", "接口", API_COLUMNS, data.get("apis")))
    console.print(_usage_table("应用消息（每成员）", "成员", MEMBER_COLUMNS, data.get("members")))


def render_tasks(data: Json) -> None:
    tasks = _dicts(data.get("tasks"))
    if not tasks:
        console.print(Text("还没有群发任务"))
        return
    table = _table("群发任务（最新在前）", "msgid", "类型", "成员", "状态", "目标")
    for task in tasks:
        kind = "客户群" if task.get("chat_type") == "group" else "客户"
        for part in _dicts(task.get("parts")):
            status = "已停止" if part.get("cancelled") else PART_STATUS.get(int(str(part.get("status"))), "")
            targets = "、".join(
                f"{target.get('name')}（{TARGET_STATUS.get(int(str(target.get('status'))), '')}）"
                for target in _dicts(part.get("targets"))
            )
            _row(table, task.get("msgid"), kind, part.get("userid"), status, targets)
    console.print(table)


def render_confirmed(result: Json) -> None:
    task = result.get("task")
    if not isinstance(task, dict):
        return
    console.print(Text(f"已确认发送群发任务 {task.get('msgid')}"))
    for part in _dicts(task.get("parts")):
        for target in _dicts(part.get("targets")):
            status = TARGET_STATUS.get(int(str(target.get("status"))), "")
            console.print(Text(f"  {part.get('userid')} → {target.get('name')}：{status}"))
