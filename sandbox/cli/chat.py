"""`sandbox say`, `say-media`, `robot-say` and `recall`: typing in groups, 1:1 chats, kf and the OA from a terminal."""

from typing import Annotated

import typer
from rich.text import Text

from sandbox.cli.client import SandboxCallError, call
from sandbox.cli.render import console, print_json, render_error
from sandbox.wire import Json

AsJson = Annotated[bool, typer.Option("--json", help="输出 JSON")]
Speaker = Annotated[
    str | None, typer.Option("--as", help="发言的客户 external_userid（在公众号里也可以是 openid；kf 可用 new）")
]
Member = Annotated[str | None, typer.Option("--member", help="发言的成员 userid")]
Target = Annotated[
    str,
    typer.Option(
        "--in",
        help="客户群 chat_id | kf | oa | app（成员→应用）| 成员 userid（客户单聊）| 客户 external_userid（成员单聊）",
    ),
]
CHANNEL_NAMES = {"archive": "会话存档", "oa": "公众号"}


def _post(action: str, body: Json) -> Json:
    try:
        return call("POST", f"/sandbox/act/{action}", body)
    except SandboxCallError as error:
        render_error(str(error))
        raise typer.Exit(1) from None


def show_result(result: Json, as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    message = result.get("message")
    ids = result.get("delivery_ids")
    queued = "、".join(str(i) for i in ids) if isinstance(ids, list) and ids else "（无回调）"
    if result.get("action") == "member-app-say" and isinstance(message, dict):
        console.print(Text(f"已推送应用消息回调：成员 {message.get('member')} → 应用（回调 {queued}）"))
        return
    if not isinstance(message, dict):
        # kf answers in the kf engine's own shape.
        console.print(Text(f"已发送：{result.get('action', '')}，回调 {queued}"))
        return
    if message.get("channel") == "oa":
        console.print(Text(f"已推送公众号消息（回调 {queued}）"))
        console.print(Text(f"  openid {message.get('openid')}  MsgId {message.get('msgid') or '—'}"))
        return
    console.print(Text(f"已存档：seq {message.get('seq')}（回调 {queued}）"))
    console.print(Text(f"  msgid {message.get('msgid')}"))


def _speaker_body(speaker: str | None, member: str | None) -> Json:
    body: Json = {}
    if speaker:
        body["as"] = speaker
    if member:
        body["member"] = member
    return body


def say(
    text: Annotated[str, typer.Argument(help="消息内容")],
    target: Target,
    speaker: Speaker = None,
    member: Member = None,
    open_kfid: Annotated[str | None, typer.Option(help="微信客服账号 open_kfid（可选）")] = None,
    as_json: AsJson = False,
) -> None:
    """以客户或成员身份发言：客户群、单聊（进入会话存档）、微信客服或公众号。"""
    if target == "kf":
        if not speaker:
            render_error("在微信客服里发言需要 --as 客户（或 new）/ --as is required in kf")
            raise typer.Exit(2)
        body: Json = {"customer": speaker, "text": text}
        if member:
            show_result(_post("kf-servicer-say", {"member": member, **body}), as_json)
            return
        if open_kfid:
            body["open_kfid"] = open_kfid
        show_result(_post("kf-say", body), as_json)
        return
    if target == "app":
        if not member or speaker:
            render_error("给应用发消息需要 --member 成员 userid（不用 --as）/ --in app needs --member and no --as")
            raise typer.Exit(2)
        show_result(_post("member-app-say", {"member": member, "text": text}), as_json)
        return
    show_result(_post("say", {"in": target, "text": text, **_speaker_body(speaker, member)}), as_json)


def say_media(
    target: Target,
    kind: Annotated[str, typer.Option("--kind", help="image 图片 | file 文件 | voice 语音")],
    speaker: Speaker = None,
    member: Member = None,
    filename: Annotated[str | None, typer.Option(help="文件名（file）")] = None,
    size: Annotated[int | None, typer.Option(help="字节数（可选）")] = None,
    seconds: Annotated[int | None, typer.Option(help="语音时长秒数（voice）")] = None,
    as_json: AsJson = False,
) -> None:
    """发送图片、文件或语音（进入会话存档）。"""
    body: Json = {"in": target, "kind": kind, **_speaker_body(speaker, member)}
    for name, value in (("filename", filename), ("size", size), ("play_length", seconds)):
        if value is not None:
            body[name] = value
    show_result(_post("say-media", body), as_json)


def robot_say(
    text: Annotated[str, typer.Argument(help="消息内容")],
    target: Annotated[str, typer.Option("--in", help="客户群 chat_id")],
    robot: Annotated[str | None, typer.Option(help="机器人 ID（wb 开头，默认演示机器人）")] = None,
    as_json: AsJson = False,
) -> None:
    """群机器人发言（发送者 ID 以 wb 开头）。"""
    body: Json = {"group": target, "text": text}
    if robot:
        body["robot"] = robot
    show_result(_post("robot-say", body), as_json)


def recall(msgid: Annotated[str, typer.Option("--msgid", help="要撤回的消息 msgid")], as_json: AsJson = False) -> None:
    """撤回 2 分钟内发出的消息（存档一条 revoke）。"""
    show_result(_post("recall", {"msgid": msgid}), as_json)


def register_chat_commands(app: typer.Typer) -> None:
    app.command("say")(say)
    app.command("say-media")(say_media)
    app.command("robot-say")(robot_say)
    app.command("recall")(recall)
