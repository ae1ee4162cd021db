"""`sandbox kf-*`: type as a WeChat customer or a servicer in a kf chat, and read kf accounts and chats."""

import json
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from sandbox.cli.client import SandboxCallError, call
from sandbox.cli.kf_lines import message_lines
from sandbox.cli.render import console, print_json, render_error
from sandbox.wire import Json

As = Annotated[str, typer.Option("--as", help="客户 external_userid；new 表示新的微信用户")]
Customer = Annotated[str, typer.Option("--customer", help="客户 external_userid")]
Member = Annotated[str, typer.Option("--member", help="接待人员 userid")]
Kf = Annotated[str | None, typer.Option("--kf", help="客服账号 open_kfid（默认第一个）")]
Name = Annotated[str | None, typer.Option("--name", help="新微信用户的昵称")]
Unionid = Annotated[str | None, typer.Option("--unionid", help="新微信用户的 unionid")]
AsJson = Annotated[bool, typer.Option("--json", help="输出 JSON")]
STATE_NAMES = {0: "未处理", 1: "智能助手接待", 2: "待接入池", 3: "人工接待", 4: "已结束/未开始"}


def _body(**fields: object) -> Json:
    """Only the options that were given, so the sandbox applies its own defaults to the rest."""
    return {name: value for name, value in fields.items() if value is not None}


def _perform(action: str, body: Json, as_json: bool) -> None:
    try:
        result = call("POST", f"/sandbox/act/{action}", body)
    except SandboxCallError as error:
        render_error(str(error))
        raise typer.Exit(1) from None
    if as_json:
        print_json(result)
        return
    parts = [f"操作成功：{action}"]
    if customer := result.get("external_userid"):
        parts.append(f"客户 {customer}")
    if msgid := result.get("msgid"):
        parts.append(f"消息 {msgid}")
    session = result.get("session")
    if isinstance(session, dict):
        state = session.get("service_state")
        parts.append(f"会话状态 {state}（{STATE_NAMES.get(state, '?') if isinstance(state, int) else '?'}）")
    for key in ("welcome_code", "msg_code"):
        if code := result.get(key):
            parts.append(f"{key} {code}")
    ids = result.get("delivery_ids")
    parts.append("已排队回调 " + ("、".join(str(i) for i in ids) if isinstance(ids, list) and ids else "（无）"))
    console.print(Text(" · ".join(parts)))


def _field(raw: str) -> tuple[str, object]:
    """key=value; the value is read as JSON when it parses (numbers for latitude), else kept as text."""
    key, sep, value = raw.partition("=")
    if not sep or not key:
        render_error(f"--field 应为 key=value：{raw} / --field must be key=value")
        raise typer.Exit(2)
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def kf_say(
    text: Annotated[str, typer.Argument(help="消息文本")],
    who: As,
    kf: Kf = None,
    name: Name = None,
    unionid: Unionid = None,
    as_json: AsJson = False,
) -> None:
    """客户在微信客服里发一条文字消息（推送 kf_msg_or_event）。"""
    _perform("kf-say", _body(customer=who, text=text, open_kfid=kf, name=name, unionid=unionid), as_json)


def kf_enter(
    who: As,
    scene: Annotated[str | None, typer.Option(help="场景值 scene")] = None,
    scene_param: Annotated[str | None, typer.Option("--scene-param", help="scene_param")] = None,
    kf: Kf = None,
    name: Name = None,
    unionid: Unionid = None,
    as_json: AsJson = False,
) -> None:
    """客户进入会话（enter_session，符合条件时带 welcome_code）。"""
    body = _body(customer=who, scene=scene, scene_param=scene_param, open_kfid=kf, name=name, unionid=unionid)
    _perform("kf-enter", body, as_json)


def kf_click(
    who: As,
    menu_id: Annotated[str, typer.Option("--menu-id", help="菜单点击项 id")],
    msgid: Annotated[str | None, typer.Option(help="菜单消息的 msgid（默认最近一条）")] = None,
    kf: Kf = None,
    as_json: AsJson = False,
) -> None:
    """客户点击机器人发出的菜单消息中的一项（回来的是带 menu_id 的文本）。"""
    _perform("kf-click", _body(customer=who, menu_id=menu_id, msgid=msgid, open_kfid=kf), as_json)


def kf_send_media(
    who: As,
    msgtype: Annotated[
        str, typer.Option("--type", help="image|voice|video|file|location|link|business_card|miniprogram")
    ],
    field: Annotated[list[str] | None, typer.Option("--field", help="覆盖默认内容 key=value（可重复）")] = None,
    kf: Kf = None,
    name: Name = None,
    as_json: AsJson = False,
) -> None:
    """客户发送图片、文件、位置等非文字消息。"""
    fields = dict(_field(raw) for raw in field or [])
    body = _body(customer=who, msgtype=msgtype, fields=fields or None, open_kfid=kf, name=name)
    _perform("kf-send-media", body, as_json)


def kf_inject(
    who: As,
    msg: Annotated[str, typer.Option("--msg", help='原样注入的消息 JSON，如 {"msgtype":"hologram","hologram":{}}')],
    kf: Kf = None,
    as_json: AsJson = False,
) -> None:
    """注入任意 msgtype 的消息（测试机器人对未知消息的处理）。"""
    try:
        parsed = json.loads(msg)
    except json.JSONDecodeError:
        render_error("--msg 不是合法的 JSON / --msg is not valid JSON")
        raise typer.Exit(2) from None
    _perform("kf-inject", _body(customer=who, msg=parsed, open_kfid=kf), as_json)


def kf_servicer_say(
    text: Annotated[str, typer.Argument(help="消息文本")],
    member: Member,
    customer: Customer,
    kf: Kf = None,
    as_json: AsJson = False,
) -> None:
    """接待人员在企业微信客户端回复客户（origin 5）。"""
    _perform("kf-servicer-say", _body(member=member, customer=customer, text=text, open_kfid=kf), as_json)


def kf_recall(
    who: As,
    msgid: Annotated[str, typer.Option("--msgid", help="要撤回的消息 msgid")],
    member: Annotated[str | None, typer.Option("--member", help="由接待人员撤回自己的消息")] = None,
    kf: Kf = None,
    as_json: AsJson = False,
) -> None:
    """撤回 2 分钟内的消息（user_recall_msg / servicer_recall_msg）。"""
    _perform("kf-recall", _body(customer=who, msgid=msgid, member=member, open_kfid=kf), as_json)


def kf_end(
    customer: Customer,
    member: Annotated[str | None, typer.Option("--member", help="接待人员 userid")] = None,
    kf: Kf = None,
    as_json: AsJson = False,
) -> None:
    """接待人员结束会话（状态 4，带 20 秒有效的结束语 msg_code）。"""
    _perform("kf-end", _body(customer=customer, member=member, open_kfid=kf), as_json)


def kf_take(member: Member, customer: Customer, kf: Kf = None, as_json: AsJson = False) -> None:
    """接待人员从待接入池接入会话。"""
    _perform("kf-take", _body(member=member, customer=customer, open_kfid=kf), as_json)


def kf_transfer(member: Member, customer: Customer, kf: Kf = None, as_json: AsJson = False) -> None:
    """把人工会话转接给另一位接待人员。"""
    _perform("kf-transfer", _body(member=member, customer=customer, open_kfid=kf), as_json)


def kf_servicer_status(
    member: Member,
    status: Annotated[int, typer.Option("--status", help="1 接待中 | 2 停止接待")],
    stop_type: Annotated[int | None, typer.Option("--stop-type", help="停止接待时：0 停止 | 1 暂时挂起")] = None,
    kf: Kf = None,
    as_json: AsJson = False,
) -> None:
    """接待人员切换接待状态（servicer_status_change）。"""
    _perform("kf-servicer-status", _body(member=member, status=status, stop_type=stop_type, open_kfid=kf), as_json)


def kf_send_fail(
    msgid: Annotated[str, typer.Option("--msgid", help="API 发出的消息 msgid")],
    fail_type: Annotated[int, typer.Option("--fail-type", help="失败原因，如 10 用户拒收")],
    kf: Kf = None,
    as_json: AsJson = False,
) -> None:
    """让 API 发出的一条消息发送失败（msg_send_fail）。"""
    _perform("kf-send-fail", _body(msgid=msgid, fail_type=fail_type, open_kfid=kf), as_json)


def kf_chats(kf: Kf = None, as_json: AsJson = False) -> None:
    """查看微信客服会话及其全部消息（客户、系统事件、接待人员、API 发送）。"""
    try:
        data = call("GET", "/sandbox/kf/chats", params={"open_kfid": kf} if kf else None)
    except SandboxCallError as error:
        render_error(str(error))
        raise typer.Exit(1) from None
    chats = data.get("chats")
    rows = [chat for chat in chats if isinstance(chat, dict)] if isinstance(chats, list) else []
    if as_json:
        print_json(rows)
        return
    for chat in rows:
        state = chat.get("service_state")
        named = f"{state}（{STATE_NAMES[state]}）" if isinstance(state, int) and state in STATE_NAMES else state
        console.print(Text(f"{chat.get('name')}（{chat.get('external_userid')}）· 会话状态 {named}"))
        messages = chat.get("messages")
        for line in messages if isinstance(messages, list) else []:
            first, *rest = message_lines(line)
            console.print(Text(f"  [{line.get('from')}] {first}"))
            for more in rest:
                console.print(Text(f"  {more}"))


def render_kf_state(state: Json) -> None:
    accounts = state.get("kf_accounts")
    for account in accounts if isinstance(accounts, list) else []:
        table = Table(title=Text(f"微信客服「{account.get('name')}」{account.get('open_kfid')}"), title_justify="left")
        for column in ("客户", "external_userid", "会话状态", "接待人员", "已用条数"):
            table.add_column(column, no_wrap=column == "external_userid")
        for session in account.get("sessions", []):
            state_id = session.get("service_state")
            table.add_row(
                *(
                    Text(str(cell))
                    for cell in (
                        session.get("name"),
                        session.get("external_userid"),
                        f"{state_id} {STATE_NAMES.get(state_id, '')}",
                        session.get("servicer_userid") or "—",
                        f"{session.get('sends_used')}/5",
                    )
                )
            )
        console.print(table)


def add_kf_commands(app: typer.Typer) -> None:
    for name, command in (
        ("kf-say", kf_say),
        ("kf-enter", kf_enter),
        ("kf-click", kf_click),
        ("kf-send-media", kf_send_media),
        ("kf-inject", kf_inject),
        ("kf-servicer-say", kf_servicer_say),
        ("kf-recall", kf_recall),
        ("kf-end", kf_end),
        ("kf-take", kf_take),
        ("kf-transfer", kf_transfer),
        ("kf-servicer-status", kf_servicer_status),
        ("kf-send-fail", kf_send_fail),
        ("kf-chats", kf_chats),
    ):
        app.command(name)(command)
