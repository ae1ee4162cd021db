"""Human output for the sandbox CLI: rich tables with every value wrapped as plain Text (no markup injection)."""

import json
from typing import Final

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sandbox.delivery.describe import describe_entry
from sandbox.wire import Json

console: Final = Console()
TYPE_NAMES: Final = {1: "成员", 2: "客户"}
# Ids are copied into the next command, so they get their full width instead of an ellipsis.
ID_COLUMNS: Final = {"external_userid": 32, "chat_id": 30, "member_version": 32}
OUTCOME_NAMES: Final = {"ok": "成功", "timeout": "超时", "connection_error": "连接失败", "gave_up": "放弃"}


def print_json(data: object) -> None:
    # print(), not rich: scripts read this, and rich would re-wrap long lines.
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _table(title: str, *columns: str) -> Table:
    table = Table(title=Text(title), title_justify="left", show_lines=False)
    for column in columns:
        width = ID_COLUMNS.get(column)
        table.add_column(column, min_width=width, no_wrap=width is not None)
    return table


def _row(table: Table, *cells: object) -> None:
    table.add_row(*(Text("" if cell is None else str(cell)) for cell in cells))


def _list(value: object) -> list[Json]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def render_state(state: Json) -> None:
    console.print(Text(f"企业 {state.get('corp_id')} · 沙箱时间 {state.get('now')}"))
    members = _table("成员", "账号", "姓名", "职务")
    for member in _list(state.get("members")):
        _row(members, member.get("userid"), member.get("name"), member.get("position"))
    console.print(members)
    names = {g.get("chat_id"): g.get("name") for g in _list(state.get("groups"))}
    customers = _table("客户", "昵称", "external_userid", "添加的成员", "所在群")
    for customer in _list(state.get("customers")):
        follows = "、".join(_follow_text(f) for f in _list(customer.get("follows"))) or "—"
        groups = customer.get("groups")
        in_groups = "、".join(str(names.get(g, g)) for g in groups) if isinstance(groups, list) else ""
        _row(customers, customer.get("name"), customer.get("external_userid"), follows, in_groups or "—")
    console.print(customers)
    # member_version is left to --json: a person never types it, and it would crowd out the names.
    groups_table = _table("客户群", "群名称", "chat_id", "群主", "人数")
    for group in _list(state.get("groups")):
        size = len(_list(group.get("member_list")))
        _row(groups_table, group.get("name"), group.get("chat_id"), group.get("owner"), size)
    console.print(groups_table)


def _follow_text(follow: Json) -> str:
    remark = follow.get("remark")
    return f"{follow.get('userid')}（{remark}）" if remark else str(follow.get("userid"))


def render_log(entries: list[Json]) -> None:
    table = _table("投递记录（UTC）", "#", "时间", "投递", "事件", "第几次", "重复", "延迟", "结果")
    for entry in entries:
        sending = describe_entry(entry)
        if sending is not None:
            ident, event, result = sending
            _row(table, entry.get("seq"), _clock_time(entry.get("at")), ident, event, "", "", "", result)
            continue
        if entry.get("kind") != "callback":
            kind, outcome = entry.get("kind"), entry.get("outcome")
            _row(table, entry.get("seq"), _clock_time(entry.get("at")), "", kind, "", "", "", outcome)
            continue
        outcome = str(entry.get("outcome"))
        # kf_msg_or_event and msgaudit_notify have no ChangeType: show the event itself.
        event = str(entry.get("change_type") or entry.get("event"))
        delay = f"{entry.get('delayed_s')}s" if entry.get("delayed_s") else ""
        _row(
            table,
            entry.get("seq"),
            _clock_time(entry.get("at")),
            entry.get("delivery_id"),
            event,
            entry.get("attempt"),
            "是" if entry.get("duplicate") else "",
            delay,
            OUTCOME_NAMES.get(outcome, outcome),
        )
    console.print(table)


def _clock_time(at: object) -> str:
    """HH:MM:SS of an ISO timestamp (UTC); --json keeps the full value."""
    return str(at)[11:19]


def render_action(result: Json) -> None:
    ids = result.get("delivery_ids")
    queued = "、".join(str(i) for i in ids) if isinstance(ids, list) and ids else "（无回调）"
    console.print(Text(f"操作成功：{result.get('action')}，已排队回调 {queued}"))
    fragment = result.get("customer") or result.get("group")
    if isinstance(fragment, dict):
        name = fragment.get("name")
        ident = fragment.get("external_userid") or fragment.get("chat_id")
        console.print(Text(f"  {name}  {ident}"))


def render_verify(result: Json) -> None:
    if result.get("ok"):
        console.print(Text(f"回调 URL 校验成功（{result.get('elapsed_ms')} 毫秒）"))
        return
    console.print(
        Text(f"回调 URL 校验失败：{result.get('outcome')}，期望 {result.get('expected')}，收到 {result.get('body')!r}")
    )


def render_error(message: str) -> None:
    Console(stderr=True).print(Text(f"错误：{message}", style="red"), soft_wrap=True)
