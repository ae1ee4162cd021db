"""The sandbox CLI (`python -m sandbox`, mounted by the bot as `qunke sandbox`): serve, inspect and act."""

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from sandbox.cli.act import act_app
from sandbox.cli.archive import register_archive_commands
from sandbox.cli.chat import register_chat_commands
from sandbox.cli.client import DEFAULT_PORT, SandboxCallError, call, sandbox_url, use_sandbox_url
from sandbox.cli.kf import add_kf_commands, render_kf_state
from sandbox.cli.oa import register_oa_commands, render_chat_state
from sandbox.cli.render import console, print_json, render_error, render_log, render_state, render_verify
from sandbox.cli.send import register_send_commands
from sandbox.cli.serve import run_server
from sandbox.config import SandboxConfig, SandboxConfigError
from sandbox.mass.reps import rep_confirm_from_env
from sandbox.oa.template import templates_from_env
from sandbox.state.file import StateFileError
from sandbox.wire import Json

app = typer.Typer(
    help="本地企业微信沙箱：不带子命令时启动服务器；其他子命令通过 SANDBOX_URL 操作正在运行的沙箱。",
    no_args_is_help=False,
)
app.add_typer(act_app, name="act")
add_kf_commands(app)
register_send_commands(app)

Host = Annotated[str, typer.Option(help="监听地址")]
Port = Annotated[int, typer.Option(help="监听端口")]
AsJson = Annotated[bool, typer.Option("--json", help="输出 JSON")]


def _call(method: str, path: str, body: Json | None = None, params: dict[str, str] | None = None) -> Json:
    try:
        return call(method, path, body, params)
    except SandboxCallError as error:
        render_error(str(error))
        raise typer.Exit(1) from None


StateFile = Annotated[
    Path | None, typer.Option("--state-file", help="状态文件（默认 $SANDBOX_STATE_FILE 或 var/sandbox/state.json）")
]
Fresh = Annotated[bool, typer.Option("--fresh", help="忽略已保存的状态，从演示种子重新开始（覆盖状态文件）")]
SandboxAt = Annotated[
    str | None, typer.Option("--url", help="正在运行的沙箱地址（默认 SANDBOX_URL 或 http://127.0.0.1:8081）")
]
MainPort = Annotated[int | None, typer.Option(help="监听端口；子命令则连接 127.0.0.1 上此端口的沙箱（默认 8081）")]


@app.callback(invoke_without_command=True)
def main(ctx: typer.Context, host: Host = "127.0.0.1", port: MainPort = None, url: SandboxAt = None) -> None:
    """企业微信沙箱（群客 Qunke）。"""
    if ctx.invoked_subcommand is None:
        _serve_at(host, port or DEFAULT_PORT)
        return
    ctx.obj = port
    # The subcommands find the sandbox through SANDBOX_URL; --url or --port point them at another one.
    if url or port:
        use_sandbox_url(url or f"http://{host}:{port}")


def _config(state_file: Path | None) -> SandboxConfig:
    try:
        config = SandboxConfig.from_env()
        # Checked here too, so a bad value is one line, not a traceback at start-up.
        rep_confirm_from_env()
        templates_from_env()
    except SandboxConfigError as error:
        render_error(str(error))
        raise typer.Exit(2) from None
    return replace(config, state_file=state_file) if state_file is not None else config


@app.command()
def serve(
    ctx: typer.Context,
    host: Host = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="监听端口（默认 8081）")] = None,
    state_file: StateFile = None,
    fresh: Fresh = False,
) -> None:
    """启动沙箱服务器；状态保存在状态文件里，重启后保留；Ctrl-C 或 SIGTERM 时先等待回调投递完成再退出。"""
    _serve_at(host, port or (ctx.obj if isinstance(ctx.obj, int) else None) or DEFAULT_PORT, state_file, fresh)


def _serve_at(host: str, port: int, state_file: Path | None = None, fresh: bool = False) -> None:
    config = _config(state_file)
    console.print(Text(f"企业微信沙箱：http://{host}:{port}/sandbox/  企业 {config.corp_id}"))
    console.print(Text(f"回调地址：{config.callback_url}（按 Ctrl-C 停止）"))
    console.print(Text(f"状态文件：{config.state_file}" + ("（从演示种子重新开始）" if fresh else "")))
    try:
        run_server(config, host, port, fresh)
    except StateFileError as error:
        render_error(str(error))
        raise typer.Exit(2) from None
    except OSError as error:
        render_error(f"无法监听 {host}:{port}：{error.strerror or error} / cannot listen on {host}:{port}")
        raise typer.Exit(1) from None
    console.print(Text("沙箱已停止"))


@app.command()
def reset(state_file: StateFile = None) -> None:
    """删除状态文件，下次启动从演示种子开始（请先停止沙箱，否则它退出时会重新写入）。"""
    path = _config(state_file).state_file
    if path is None or not path.exists():
        console.print(Text(f"没有状态文件：{path}，下次启动即从演示种子开始"))
        return
    try:
        path.unlink()
    except OSError as error:
        render_error(f"无法删除状态文件 {path}：{error.strerror or error} / cannot delete {path}")
        raise typer.Exit(1) from None
    console.print(Text(f"已删除状态文件 {path}，下次启动从演示种子开始"))


@app.command()
def state(as_json: AsJson = False) -> None:
    """查看沙箱企业：成员、客户、客户群、微信客服会话、会话存档、公众号粉丝、单聊。"""
    data = _call("GET", "/sandbox/state")
    if as_json:
        print_json(data)
        return
    render_state(data)
    render_kf_state(data)
    render_chat_state(data)


@app.command()
def log(
    as_json: AsJson = False,
    since: Annotated[int, typer.Option(help="只看序号大于 N 的记录")] = 0,
) -> None:
    """查看投递记录：回调尝试、机器人发出的消息、群发任务、故障注入与限流。"""
    data = _call("GET", "/sandbox/log", params={"since": str(since)})
    entries = data.get("entries")
    rows = [entry for entry in entries if isinstance(entry, dict)] if isinstance(entries, list) else []
    print_json(rows) if as_json else render_log(rows)


@app.command("verify-url")
def verify_url(as_json: AsJson = False) -> None:
    """模拟保存回调配置时的 URL 校验（GET + echostr，1 秒内须返回明文）。"""
    data = _call("POST", "/sandbox/verify-url")
    print_json(data) if as_json else render_verify(data)
    if not data.get("ok"):
        raise typer.Exit(1)


@app.command()
def pending(as_json: AsJson = False) -> None:
    """尚未完成的回调投递数。"""
    data = _call("GET", "/sandbox/pending")
    print_json(data) if as_json else console.print(f"待投递回调：{data.get('pending')}")


@app.command("advance-clock")
def advance_clock(seconds: Annotated[float, typer.Argument(help="前进的秒数")], as_json: AsJson = False) -> None:
    """让沙箱时间前进（例如让 access_token 过期）。"""
    data = _call("POST", "/sandbox/clock/advance", {"seconds": seconds})
    print_json(data) if as_json else console.print(f"沙箱时间：{data.get('now')}")


@app.command("invalidate-token")
def invalidate_token(as_json: AsJson = False) -> None:
    """让当前 access_token 提前失效（企业微信可能这样做）。"""
    data = _call("POST", "/sandbox/token/invalidate")
    print_json(data) if as_json else console.print(
        "已作废当前 access_token" if data.get("invalidated") else "当前没有有效的 access_token"
    )


@app.command()
def chaos(
    duplicate_rate: Annotated[float | None, typer.Option(help="重复投递概率 0..1")] = None,
    late_rate: Annotated[float | None, typer.Option(help="延迟投递概率 0..1")] = None,
    late_max_s: Annotated[float | None, typer.Option(help="最长延迟秒数")] = None,
    as_json: AsJson = False,
) -> None:
    """查看或修改回调的故障注入（重复、延迟、乱序）。"""
    changes: Json = {
        name: value
        for name, value in (("duplicate_rate", duplicate_rate), ("late_rate", late_rate), ("late_max_s", late_max_s))
        if value is not None
    }
    data = _call("POST", "/sandbox/chaos", changes) if changes else _call("GET", "/sandbox/chaos")
    if as_json:
        print_json(data)
        return
    console.print(
        f"重复投递概率 {data.get('duplicate_rate')} · 延迟概率 {data.get('late_rate')} · "
        f"最长延迟 {data.get('late_max_s')} 秒（{sandbox_url()}）"
    )


# Chats, the archive and the Official Account (listed after the corp commands in --help).
register_chat_commands(app)
register_archive_commands(app)
register_oa_commands(act_app)
