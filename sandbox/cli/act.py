"""`sandbox act ...`: one CLI command per simulated client action, each a POST /sandbox/act/<action>."""

from typing import Annotated

import typer

from sandbox.cli.client import SandboxCallError, call
from sandbox.cli.render import print_json, render_action, render_error
from sandbox.cli.render_send import render_confirmed
from sandbox.wire import Json

act_app = typer.Typer(help="模拟客户端操作（客户加好友、入群退群、删除、建群……）", no_args_is_help=True)

Customer = Annotated[str, typer.Option("--customer", help="客户 external_userid")]
Member = Annotated[str, typer.Option("--member", help="成员 userid")]
Group = Annotated[str, typer.Option("--group", help="客户群 chat_id")]
AsJson = Annotated[bool, typer.Option("--json", help="输出 JSON")]


def perform(action: str, body: Json, as_json: bool) -> None:
    try:
        result = call("POST", f"/sandbox/act/{action}", body)
    except SandboxCallError as error:
        render_error(str(error))
        raise typer.Exit(1) from None
    if as_json:
        print_json(result)
    else:
        render_action(result)


@act_app.command("add-contact")
def add_contact(
    customer: Customer,
    member: Member,
    state: Annotated[str | None, typer.Option(help="渠道参数 state")] = None,
    as_json: AsJson = False,
) -> None:
    """客户添加成员为好友（推送 add_external_contact）。"""
    body: Json = {"customer": customer, "member": member}
    if state:
        body["state"] = state
    perform("add-contact", body, as_json)


@act_app.command("edit-contact")
def edit_contact(
    member: Member,
    customer: Customer,
    remark: Annotated[str | None, typer.Option(help="备注")] = None,
    description: Annotated[str | None, typer.Option(help="描述")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="企业标签（名称或 ID，可重复；替换原有标签）")] = None,
    as_json: AsJson = False,
) -> None:
    """成员修改客户备注或标签（推送 edit_external_contact）。"""
    body: Json = {"member": member, "customer": customer}
    for name, value in (("remark", remark), ("description", description), ("tags", tag)):
        if value is not None:
            body[name] = value
    perform("edit-contact", body, as_json)


@act_app.command("delete-customer")
def delete_customer(member: Member, customer: Customer, as_json: AsJson = False) -> None:
    """成员删除客户（推送 del_external_contact）。"""
    perform("delete-customer", {"member": member, "customer": customer}, as_json)


@act_app.command("delete-rep")
def delete_rep(customer: Customer, member: Member, as_json: AsJson = False) -> None:
    """客户删除成员（推送 del_follow_user）。"""
    perform("delete-rep", {"customer": customer, "member": member}, as_json)


@act_app.command("join-group")
def join_group(
    customer: Customer,
    group: Group,
    scene: Annotated[str, typer.Option(help="入群方式：qr 扫码 | invite 成员邀请 | link 邀请链接")] = "invite",
    invitor: Annotated[str | None, typer.Option(help="邀请人 userid（默认群主；扫码入群无邀请人）")] = None,
    as_json: AsJson = False,
) -> None:
    """客户入群（推送 change_external_chat/update add_member）。"""
    body: Json = {"customer": customer, "group": group, "scene": scene}
    if invitor:
        body["invitor"] = invitor
    perform("join-group", body, as_json)


@act_app.command("leave-group")
def leave_group(
    customer: Customer,
    group: Group,
    removed: Annotated[bool, typer.Option("--removed", help="被群主或管理员移出（否则为主动退群）")] = False,
    as_json: AsJson = False,
) -> None:
    """客户退群或被移出（推送 change_external_chat/update del_member）。"""
    perform("leave-group", {"customer": customer, "group": group, "removed": removed}, as_json)


@act_app.command("new-customer")
def new_customer(
    name: Annotated[str, typer.Option("--name", help="微信昵称")],
    gender: Annotated[int, typer.Option(help="0 未知 | 1 男 | 2 女")] = 0,
    unionid: Annotated[str | None, typer.Option(help="unionid（可选）")] = None,
    as_json: AsJson = False,
) -> None:
    """出现一个新的微信用户（不推送回调）。"""
    body: Json = {"name": name, "gender": gender}
    if unionid:
        body["unionid"] = unionid
    perform("new-customer", body, as_json)


@act_app.command("create-group")
def create_group(
    owner: Annotated[str, typer.Option("--owner", help="群主 userid")],
    name: Annotated[str, typer.Option("--name", help="群名称")],
    member: Annotated[list[str] | None, typer.Option("--member", help="初始成员或客户 id（可重复）")] = None,
    notice: Annotated[str | None, typer.Option(help="群公告")] = None,
    as_json: AsJson = False,
) -> None:
    """成员创建客户群（推送 change_external_chat/create）。"""
    body: Json = {"owner": owner, "name": name, "members": member or []}
    if notice:
        body["notice"] = notice
    perform("create-group", body, as_json)


@act_app.command("dismiss-group")
def dismiss_group(group: Group, as_json: AsJson = False) -> None:
    """群主解散客户群（推送 change_external_chat/dismiss）。"""
    perform("dismiss-group", {"group": group}, as_json)


@act_app.command("rename-group")
def rename_group(
    group: Group, name: Annotated[str, typer.Option("--name", help="新群名称")], as_json: AsJson = False
) -> None:
    """修改群名称（推送 change_external_chat/update change_name）。"""
    perform("rename-group", {"group": group, "name": name}, as_json)


@act_app.command("confirm-task")
def confirm_task(
    msgid: Annotated[str, typer.Option("--msgid", help="群发任务 msgid（add_msg_template 返回）")],
    member: Member,
    as_json: AsJson = False,
) -> None:
    """成员在企业微信里确认发送群发任务（之后客户或客户群才会收到）。"""
    try:
        result = call("POST", "/sandbox/act/confirm-task", {"msgid": msgid, "member": member})
    except SandboxCallError as error:
        render_error(str(error))
        raise typer.Exit(1) from None
    if as_json:
        print_json(result)
    else:
        render_confirmed(result)


@act_app.command("member-app-say")
def member_app_say(
    member: Member,
    text: Annotated[str, typer.Argument(help="成员发给应用的文字，例如「解决 T1」")],
    as_json: AsJson = False,
) -> None:
    """成员在企业微信里给自建应用发一条文字消息（推送应用的 text 消息回调）。"""
    perform("member-app-say", {"member": member, "text": text}, as_json)
