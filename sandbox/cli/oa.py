"""`sandbox act oa-*` (an Official Account follower's actions) and the chat parts of `sandbox state`."""

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from sandbox.cli.chat import show_result
from sandbox.cli.client import SandboxCallError, call
from sandbox.cli.render import console, render_error
from sandbox.wire import Json

AsJson = Annotated[bool, typer.Option("--json", help="输出 JSON")]
OpenId = Annotated[str, typer.Option("--openid", help="粉丝 openid（或已关注公众号的客户 external_userid）")]


def _perform(action: str, body: Json, as_json: bool) -> None:
    try:
        result = call("POST", f"/sandbox/act/{action}", body)
    except SandboxCallError as error:
        render_error(str(error))
        raise typer.Exit(1) from None
    show_result(result, as_json)


def oa_follow(
    nickname: Annotated[str | None, typer.Option(help="微信昵称")] = None,
    unionid: Annotated[str | None, typer.Option(help="unionid（可选；不填则没有 unionid）")] = None,
    customer: Annotated[str | None, typer.Option(help="这位粉丝是哪位客户（共用 unionid）")] = None,
    openid: Annotated[str | None, typer.Option(help="取消关注后重新关注的 openid")] = None,
    as_json: AsJson = False,
) -> None:
    """有人关注公众号（推送 subscribe 事件）。"""
    pairs = (("nickname", nickname), ("unionid", unionid), ("customer", customer), ("openid", openid))
    _perform("oa-follow", {name: value for name, value in pairs if value}, as_json)


def oa_unfollow(openid: OpenId, as_json: AsJson = False) -> None:
    """粉丝取消关注（推送 unsubscribe 事件）。"""
    _perform("oa-unfollow", {"openid": openid}, as_json)


def oa_say(
    text: Annotated[str, typer.Argument(help="消息内容")],
    openid: OpenId,
    menu_id: Annotated[str | None, typer.Option(help="点击的菜单消息选项 id（bizmsgmenuid）")] = None,
    as_json: AsJson = False,
) -> None:
    """粉丝给公众号发消息（推送 text 消息）。"""
    body: Json = {"openid": openid, "text": text}
    if menu_id:
        body["menu_id"] = menu_id
    _perform("oa-say", body, as_json)


def oa_menu_click(
    openid: OpenId,
    key: Annotated[str, typer.Option("--key", help="自定义菜单的 EventKey")],
    as_json: AsJson = False,
) -> None:
    """粉丝点击公众号自定义菜单（推送 CLICK 事件）。"""
    _perform("oa-menu-click", {"openid": openid, "key": key}, as_json)


def register_oa_commands(act_app: typer.Typer) -> None:
    act_app.command("oa-follow")(oa_follow)
    act_app.command("oa-unfollow")(oa_unfollow)
    act_app.command("oa-say")(oa_say)
    act_app.command("oa-menu-click")(oa_menu_click)


def _rows(value: object) -> list[Json]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def render_chat_state(state: Json) -> None:
    """The archive's position, OA followers and 1:1 chats, after the corp tables."""
    archive = state.get("archive")
    if isinstance(archive, dict):
        if archive.get("enabled"):
            line = f"会话存档：已开启 · 最新 seq {archive.get('last_seq')} · 公钥版本 {archive.get('publickey_ver')}"
        else:
            line = f"会话存档：未开启（设置 SANDBOX_ARCHIVE_PUBLIC_KEY）· 已记录 {archive.get('last_seq')} 条"
        console.print(Text(line))
    names = {c.get("external_userid"): c.get("name") for c in _rows(state.get("customers"))}
    _render_followers(state, names)
    _render_chats(state, names)


def _render_followers(state: Json, names: dict[object, object]) -> None:
    # unionid is left to --json: it is long, and "对应客户" already says what it links to.
    table = Table(title=Text("公众号粉丝"), title_justify="left")
    for column, width in (("昵称", None), ("openid", 28), ("对应客户", None), ("状态", None)):
        table.add_column(column, min_width=width, no_wrap=width is not None)
    for f in _rows(state.get("oa_followers")):
        status = "已关注" if f.get("subscribed") else "已取关"
        cells = (f.get("nickname"), f.get("openid"), names.get(f.get("customer")) or "—", status)
        table.add_row(*(Text(str(cell)) for cell in cells))
    console.print(table)


def _render_chats(state: Json, names: dict[object, object]) -> None:
    # Customer ids are in the customer table above; here the names keep the rows inside a terminal.
    table = Table(title=Text("成员与客户单聊"), title_justify="left")
    for column in ("成员", "客户", "消息数", "状态"):
        table.add_column(column)
    for chat in _rows(state.get("chats")):
        status = "好友" if chat.get("active") else "已不是好友"
        customer = chat.get("customer")
        cells = (chat.get("member"), names.get(customer, customer), chat.get("messages"), status)
        table.add_row(*(Text(str(cell)) for cell in cells))
    console.print(table)
