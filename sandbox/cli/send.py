"""Sandbox CLI commands for the sending side: `fault`, `limits` and `tasks`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from sandbox.cli.client import SandboxCallError, call
from sandbox.cli.render import console, print_json, render_error
from sandbox.cli.render_send import render_faults, render_limits, render_tasks
from sandbox.wire import Json

AsJson = Annotated[bool, typer.Option("--json", help="输出 JSON")]


def _call(method: str, path: str, body: Json | None = None, params: dict[str, str] | None = None) -> Json:
    try:
        return call(method, path, body, params)
    except SandboxCallError as error:
        render_error(str(error))
        raise typer.Exit(1) from None


def fault(
    api: Annotated[str | None, typer.Option("--api", help="接口路径，如 /cgi-bin/message/send；* 结尾匹配前缀")] = None,
    errcode: Annotated[int | None, typer.Option("--errcode", help="返回的错误码，如 -1、45009、42001")] = None,
    times: Annotated[int, typer.Option("--times", help="生效次数（0 表示直到清除）")] = 1,
    latency: Annotated[int, typer.Option("--latency", help="应答前延迟的毫秒数")] = 0,
    drop: Annotated[
        str | None, typer.Option("--drop-connection", help="断开连接不应答：before 不执行请求，after 执行后再断开")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="清除故障（配合 --api 只清除该接口的）")] = False,
    show: Annotated[bool, typer.Option("--list", help="列出当前的故障")] = False,
    as_json: AsJson = False,
) -> None:
    """给 /cgi-bin/ 接口注入故障：错误码、延迟、断开连接；或列出、清除故障。"""
    if clear:
        data = _call("DELETE", "/sandbox/faults", params={"api": api} if api else None)
        print_json(data) if as_json else console.print(Text(f"已清除 {data.get('cleared')} 个故障"))
        return
    if api is not None and not show:
        body: Json = {"api": api, "times": times, "latency_ms": latency}
        if errcode is not None:
            body["errcode"] = errcode
        if drop is not None:
            body["drop"] = drop
        data = _call("POST", "/sandbox/faults", body)
        if as_json:
            print_json(data)
            return
        added = data.get("fault")
        console.print(Text("已添加故障："))
        render_faults({"faults": [added] if isinstance(added, dict) else []})
        return
    data = _call("GET", "/sandbox/faults")
    print_json(data) if as_json else render_faults(data)


def limits(as_json: AsJson = False) -> None:
    """查看接口频率、并发和应用消息的用量与峰值（用于确认从未超限）。"""
    data = _call("GET", "/sandbox/limits")
    print_json(data) if as_json else render_limits(data)


def tasks(as_json: AsJson = False) -> None:
    """查看企业群发任务及每个成员、每个客户（群）的发送状态。"""
    data = _call("GET", "/sandbox/tasks")
    print_json(data) if as_json else render_tasks(data)


def register_send_commands(app: typer.Typer) -> None:
    app.command("fault")(fault)
    app.command("limits")(limits)
    app.command("tasks")(tasks)
