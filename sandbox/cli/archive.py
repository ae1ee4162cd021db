"""`sandbox archive ...` (messages, injections, pull faults) and `sandbox archive-keygen`."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from sandbox.archive.crypto import write_keypair
from sandbox.cli.client import SandboxCallError, call
from sandbox.cli.render import console, print_json, render_error
from sandbox.wire import Json

archive_app = typer.Typer(help="会话内容存档：查看消息、注入异常消息、让拉取失败", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json", help="输出 JSON")]
Speaker = Annotated[str | None, typer.Option("--as", help="发言的客户 external_userid")]
Member = Annotated[str | None, typer.Option("--member", help="发言的成员 userid")]
Target = Annotated[str | None, typer.Option("--in", help="客户群 chat_id 或单聊对象（默认第一个群的群主在群里发言）")]


def _call(method: str, path: str, body: Json | None = None, params: dict[str, str] | None = None) -> Json:
    try:
        return call(method, path, body, params)
    except SandboxCallError as error:
        render_error(str(error))
        raise typer.Exit(1) from None


def _chat_body(speaker: str | None, member: str | None, target: str | None) -> Json:
    pairs = (("as", speaker), ("member", member), ("in", target))
    return {name: value for name, value in pairs if value}


def _json_object(text: str, option: str) -> Json:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        render_error(f"{option} 应为 JSON 对象 / {option} must be a JSON object")
        raise typer.Exit(2)
    return value


def _injected(result: Json, as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    message = result.get("message")
    if isinstance(message, dict):
        console.print(Text(f"已注入：seq {message.get('seq')} · msgid {message.get('msgid')}"))


def _summary(message: Json) -> str:
    msgtype = message.get("msgtype")
    body = message.get(msgtype) if isinstance(msgtype, str) else None
    if not isinstance(body, dict):
        return json.dumps(message, ensure_ascii=False)[:60]
    if msgtype == "text":
        return str(body.get("content", ""))
    if msgtype == "revoke":
        return f"撤回 {body.get('pre_msgid')}"
    if msgtype == "file":
        return f"[文件 {body.get('filename')}]"
    if msgtype == "voice":
        return f"[语音 {body.get('play_length')} 秒]"
    if msgtype == "image":
        return f"[图片 {body.get('filesize')} 字节]"
    return json.dumps(body, ensure_ascii=False)[:60]


@archive_app.command("messages")
def messages(
    since: Annotated[int, typer.Option(help="只看 seq 大于 N 的消息")] = 0,
    as_json: AsJson = False,
) -> None:
    """查看已存档的消息（解密后的明文）。"""
    data = _call("GET", "/sandbox/archive/messages", params={"since": str(since)})
    items = data.get("messages")
    rows = [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
    if as_json:
        print_json(rows)
        return
    # The chat and full ids are left to --json, so a row fits a terminal.
    table = Table(title=Text("会话存档（UTC）"), title_justify="left")
    for column in ("seq", "时间", "发送者", "类型", "内容"):
        table.add_column(column)
    for row in rows:
        message = row.get("message")
        plain = message if isinstance(message, dict) else {}
        msgtime = plain.get("msgtime")
        when = datetime.fromtimestamp(msgtime / 1000, UTC).strftime("%H:%M:%S") if isinstance(msgtime, int) else ""
        fault = f"（{row.get('fault')}）" if row.get("fault") else ""
        cells = (row.get("seq"), when, plain.get("from"), plain.get("msgtype"), _summary(plain) + fault)
        table.add_row(*(Text(str(cell or "")) for cell in cells))
    console.print(table)


@archive_app.command("inject")
def inject(
    msgtype: Annotated[str | None, typer.Option(help="任意 msgtype，例如 hologram")] = None,
    content: Annotated[str, typer.Option(help="该 msgtype 下的 JSON 对象")] = "{}",
    plain: Annotated[str | None, typer.Option(help="整条解密后的 JSON（原样存档，例如 action=switch）")] = None,
    speaker: Speaker = None,
    member: Member = None,
    target: Target = None,
    as_json: AsJson = False,
) -> None:
    """注入一条任意类型的消息（测试机器人对未知类型的处理）。"""
    if plain is not None:
        body: Json = {"plain": _json_object(plain, "--plain")}
    elif msgtype:
        body = {"msgtype": msgtype, "content": _json_object(content, "--content")}
        body.update(_chat_body(speaker, member, target))
    else:
        render_error("请给出 --msgtype 或 --plain / give --msgtype or --plain")
        raise typer.Exit(2)
    _injected(_call("POST", "/sandbox/act/archive-inject", body), as_json)


@archive_app.command("corrupt")
def corrupt(
    part: Annotated[str, typer.Option(help="msg 密文损坏 | key 加密密钥损坏")] = "msg",
    speaker: Speaker = None,
    member: Member = None,
    target: Target = None,
    as_json: AsJson = False,
) -> None:
    """注入一条无法解密的消息。"""
    body: Json = {"part": part, **_chat_body(speaker, member, target)}
    _injected(_call("POST", "/sandbox/act/archive-inject-corrupt", body), as_json)


@archive_app.command("unknown-key")
def unknown_key(
    version: Annotated[int | None, typer.Option(help="publickey_ver（默认已配置版本 + 1）")] = None,
    speaker: Speaker = None,
    member: Member = None,
    target: Target = None,
    as_json: AsJson = False,
) -> None:
    """注入一条用未配置的公钥版本加密的消息。"""
    body: Json = _chat_body(speaker, member, target)
    if version is not None:
        body["publickey_ver"] = version
    _injected(_call("POST", "/sandbox/act/archive-inject-unknown-key", body), as_json)


@archive_app.command("fault")
def fault(
    times: Annotated[int, typer.Option(help="接下来 N 次拉取失败")] = 1,
    errcode: Annotated[int, typer.Option(help="10001 网络 | 10002 解析 | 10003 系统")] = 10001,
    as_json: AsJson = False,
) -> None:
    """让接下来的 N 次 getchatdata 返回 SDK 错误。"""
    data = _call("POST", "/sandbox/archive/fault", {"times": times, "errcode": errcode})
    print_json(data) if as_json else console.print(f"接下来 {data.get('remaining')} 次拉取返回 {data.get('errcode')}")


def archive_keygen(
    out: Annotated[Path, typer.Option("--out", help="写入 archive_public.pem 和 archive_private.pem 的目录")],
    force: Annotated[bool, typer.Option("--force", help="覆盖已有的密钥文件")] = False,
) -> None:
    """生成会话存档的 RSA-2048 密钥对：公钥给沙箱（SANDBOX_ARCHIVE_PUBLIC_KEY），私钥给机器人。"""
    try:
        files = write_keypair(out, overwrite=force)
    except FileExistsError as error:
        render_error(f"{error.args[0]} 已存在（加 --force 覆盖）/ already exists")
        raise typer.Exit(1) from None
    except OSError as error:
        render_error(f"无法写入 {out}：{error.strerror or error} / cannot write")
        raise typer.Exit(1) from None
    console.print(Text(f"公钥 public：{files.public}"))
    console.print(Text(f"私钥 private：{files.private}（权限 0600）"))
    console.print(Text(f"沙箱：SANDBOX_ARCHIVE_PUBLIC_KEY={files.public}"))


def register_archive_commands(app: typer.Typer) -> None:
    app.add_typer(archive_app, name="archive")
    app.command("archive-keygen")(archive_keygen)
