"""CLI over console accounts: `user add|list|disable|enable|password|logout` (every change is audited)."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.output import JsonFlag, local, print_json
from bot.cli.session import with_session
from bot.config.settings import load_settings
from services.access import accounts, audit
from services.access.accounts import AccountError
from services.access.audit import Origin
from services.clock import SystemClock

user_app = typer.Typer(no_args_is_help=True, help="控制台账号：管理员、经理、客服 (console accounts)")
console = Console()
Login = Annotated[str, typer.Argument(help="登录名 (the login)")]
PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="从标准输入读取密码 (password from stdin)")]


def _origin() -> Origin:
    return Origin(actor=f"cli:{getpass.getuser()}")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("密码 / password: ")
    if getpass.getpass("再输入一次 / again: ") != first:
        _fail("两次输入的密码不一致 (passwords differ)")
    return first


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@user_app.command("add")
def user_add(
    login: Login,
    role: Annotated[str, typer.Option("--role", help="admin、manager 或 rep (the role)")],
    userid: Annotated[str | None, typer.Option("--userid", help="企业微信成员 userid，客服必填 (WeCom member)")] = None,
    name: Annotated[str, typer.Option("--name", help="显示名称 (display name)")] = "",
    password_stdin: PasswordStdin = False,
) -> None:
    """添加控制台账号；密码通过提示输入或 --password-stdin (add an account)"""
    password = _read_password(password_stdin)

    async def work(session: AsyncSession) -> None:
        now = SystemClock().now()
        user = await accounts.add_user(session, now, login, role, password, name=name, wecom_userid=userid)
        await audit.record(session, now, _origin(), "user_add", user.login, {"role": role, "wecom_userid": userid})

    _run(work)
    typer.echo(f"已添加用户 {login}（{role}）")


@user_app.command("list")
def user_list(as_json: JsonFlag = False) -> None:
    """全部账号及其角色、企业微信成员与状态 (every account)"""
    settings = load_settings()
    users = with_session(settings, accounts.list_users)
    rows = [
        {
            "id": u.id,
            "login": u.login,
            "name": u.name,
            "role": u.role,
            "wecom_userid": u.wecom_userid,
            "disabled": u.disabled,
            "last_login_at": u.last_login_at,
        }
        for u in users
    ]
    if as_json:
        print_json(rows)
        return
    table = Table("ID", "登录名", "姓名", "角色", "企业微信成员", "状态", "最近登录")
    for u in users:
        status = "已停用" if u.disabled else "正常"
        last = local(u.last_login_at, settings.timezone)
        table.add_row(str(u.id), u.login, u.name, u.role, u.wecom_userid or "-", status, last)
    console.print(table)


@user_app.command("disable")
def user_disable(login: Login) -> None:
    """停用账号并注销其全部登录 (disable)"""
    _set_disabled(login, True)
    typer.echo(f"已停用 {login}，其所有登录已失效")


@user_app.command("enable")
def user_enable(login: Login) -> None:
    """重新启用已停用的账号 (enable)"""
    _set_disabled(login, False)
    typer.echo(f"已启用 {login}")


def _set_disabled(login: str, disabled: bool) -> None:
    async def work(session: AsyncSession) -> None:
        now = SystemClock().now()
        await accounts.set_disabled(session, now, login, disabled)
        await audit.record(session, now, _origin(), "user_disable" if disabled else "user_enable", login)

    _run(work)


@user_app.command("password")
def user_password(login: Login, password_stdin: PasswordStdin = False) -> None:
    """设置新密码；该账号的全部登录失效 (set a password)"""
    password = _read_password(password_stdin)

    async def work(session: AsyncSession) -> None:
        now = SystemClock().now()
        await accounts.set_password(session, now, login, password)
        await audit.record(session, now, _origin(), "user_password", login)

    _run(work)
    typer.echo(f"已为 {login} 设置新密码，其所有登录已失效")


def _run(work: Callable[[AsyncSession], Awaitable[None]]) -> None:
    try:
        with_session(load_settings(), work)
    except AccountError as exc:
        _fail(f"{exc} (refused)")
