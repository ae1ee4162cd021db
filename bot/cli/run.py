"""CLI commands that run things: `serve`, `demo` (sandbox + bot together) and `db upgrade`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from aiohttp import web

from bot import event_loop
from bot.access_log import QuietAccessLogger
from bot.app import create_app
from bot.cli import ports
from bot.cli.callback_check import describe, verify_when_bot_answers
from bot.cli.demo_accounts import banner_lines, ensure_demo_accounts
from bot.config.settings import Settings, load_settings
from services.clock import Clock, OffsetClock
from storage.migrate import upgrade
from storage.single_server import SqliteAlreadyServed, claim_sqlite_file

CLOCK_OFFSET_ENV: Final = "QUNKE_TEST_CLOCK_OFFSET_S"

db_app = typer.Typer(no_args_is_help=True, help="数据库结构 (database schema)")

# The demo corp's credentials; the sandbox seeds the same corp with the same values (sandbox/config.py).
DEMO_ENV: Final = {
    "WECOM_CORP_ID": "ww5a1f0c9e2b7d4a31",
    "WECOM_SECRET": "qunke-demo-secret-0f3c9a7e5b",
    "WECOM_AGENT_ID": "1000002",
    "WECOM_TOKEN": "QunkeDemoToken2026",
    "WECOM_AES_KEY": "yQu5ggX7NX1xmsAPW0EbgYJB67kkb5lfSee7YPbtkyQ",
}
# The demo Official Account and chat-archive secrets, shared by the bot and the sandbox the same way.
DEMO_OA_ENV: Final = {
    "WECHAT_OA_APPID": "wx02304e4415763465",
    "WECHAT_OA_SECRET": "693aff69f6b338c60e356b87d1550ef5",
    "WECHAT_OA_TOKEN": "QunkeOaToken2026",
    "WECHAT_OA_AES_KEY": "phyq3rkcKo3g0RipSy64LW7cKB2FM0SHtxygVJbqfiB",
    "WECOM_ARCHIVE_SECRET": "qunke-demo-archive-secret-7c41e2",
}
SANDBOX_PORT: Final = 8081
# Who runs the demo corp's service (sandbox/contacts/seed.py): 赵六 (社群经理) hears escalations and unattended
# hand-offs, 王五 (客服, a receiving servicer of both kf accounts) takes hand-offs of customers with no owner. Only
# `qunke demo` uses them, and only where config.yaml leaves service.managers / service.on_duty empty.
DEMO_SERVICE: Final = {"managers": ("zhaoliu",), "on_duty": ("wangwu",)}
DEMO_KEY_DIR: Final = Path("var/archive")


@db_app.command("copy")
def db_copy(
    to: Annotated[str, typer.Option("--to", help="目标数据库 URL，须已迁移且为空 (target URL: migrated, empty)")],
) -> None:
    """把当前数据库的全部数据复制到另一个空库，例如 SQLite → PostgreSQL (copy every row to an empty database)"""
    from storage.db_copy import CopyRefused, copy_database

    settings = load_settings()

    def report(done: Any) -> None:
        if done.rows:
            typer.echo(f"  {done.table}: {done.rows}")

    typer.echo(f"复制 (copying) {_safe_url(settings.database.url)} → {_safe_url(to)}")
    try:
        copied = asyncio.run(copy_database(settings.database.url, to, on_table=report))
    except CopyRefused as refused:
        typer.echo(f"错误：{refused}", err=True)
        raise typer.Exit(2) from None
    total = sum(done.rows for done in copied)
    typer.echo(f"完成 (done): {len(copied)} 张表，共 {total} 行；把 QUNKE_DATABASE_URL 改为目标库后重启 qunke serve")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """把数据库（SQLite 或 PostgreSQL）迁移到最新结构 (migrate the database)"""
    settings = load_settings()
    upgrade(settings.database.url)
    typer.echo(f"数据库已是最新结构 (database migrated): {_safe_url(settings.database.url)}")


def serve(
    host: Annotated[
        str | None, typer.Option(help="监听地址，默认取 config.yaml (listen address; default 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="监听端口，默认取 config.yaml (listen port; default 8080)")] = None,
) -> None:
    """运行机器人：回调、收件与全部后台任务 (run the bot)"""
    settings = load_settings()
    try:
        run_loop(_serve(settings, host or settings.server.host, port or settings.server.port), settings)
    except ports.PortProblem as problem:
        ports.fail(problem)


async def _serve(settings: Settings, host: str, port: int, on_ready: str = "") -> None:
    try:
        lock = claim_sqlite_file(settings.database.url)
    except SqliteAlreadyServed as refused:
        typer.echo(f"错误：{refused}", err=True)
        raise typer.Exit(2) from None
    try:
        await _serve_app(settings, host, port, on_ready)
    finally:
        if lock is not None:
            os.close(lock)


def run_loop(main: Coroutine[Any, Any, None], settings: Settings) -> None:
    """Run a long-lived process on the configured event loop (bot/event_loop.py); a missing uvloop is a clear
    error naming the key."""
    try:
        event_loop.run(main, settings.server.event_loop)
    except event_loop.EventLoopUnavailable as missing:
        main.close()
        typer.echo(f"错误：{missing}", err=True)
        raise typer.Exit(2) from None


def _clock_from_env() -> Clock | None:
    """A test hook (docs/PIPELINE.md): QUNKE_TEST_CLOCK_OFFSET_S=<seconds> runs the bot with a skewed clock."""
    raw = os.environ.get(CLOCK_OFFSET_ENV, "").strip()
    if not raw:
        return None
    try:
        offset = timedelta(seconds=float(raw))
    except (ValueError, OverflowError):
        typer.echo(f"错误：环境变量 {CLOCK_OFFSET_ENV}={raw!r} 不是秒数 (expected a number of seconds)", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"注意：时钟偏移 {offset.total_seconds():+.0f} 秒 ({CLOCK_OFFSET_ENV}, tests only)", err=True)
    return OffsetClock(offset)


async def _serve_app(settings: Settings, host: str, port: int, on_ready: str) -> None:
    app = create_app(settings, _clock_from_env())
    runner = web.AppRunner(app, handle_signals=False, access_log_class=QuietAccessLogger)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            raise ports.PortProblem(
                f"无法监听 {host}:{port}（{exc.strerror or exc}）：请用 --port 换一个端口"
            ) from None
        typer.echo(on_ready or f"Qunke 已启动 (listening): http://{host}:{port}  (Ctrl-C 停止)")
        await _until_signalled()
    finally:
        await runner.cleanup()


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def demo(
    port: Annotated[int | None, typer.Option(help="机器人端口 (bot port; default from config.yaml, 8080)")] = None,
    sandbox_port: Annotated[int, typer.Option(help="沙箱端口 (sandbox port)")] = SANDBOX_PORT,
) -> None:
    """演示：在 SQLite 上同时启动沙箱和机器人，Ctrl-C 停止两者 (sandbox + bot with the seeded demo corp)"""
    for key, value in {**DEMO_ENV, **DEMO_OA_ENV}.items():
        os.environ.setdefault(key, value)
    settings = load_settings()
    host, bot_port = settings.server.host, port or settings.server.port
    try:
        ports.require_free(host, bot_port, "--port")
        ports.require_free("127.0.0.1", sandbox_port, "--sandbox-port")
    except ports.PortProblem as problem:
        ports.fail(problem)
    sandbox_url, bot_url = f"http://127.0.0.1:{sandbox_port}", f"http://{host}:{bot_port}"
    # The ports decide every URL between the two, so a second demo on other ports never reaches the first one.
    os.environ.update(
        WECOM_API_BASE=sandbox_url,
        WECHAT_API_BASE=f"{sandbox_url}/oa",
        SANDBOX_URL=sandbox_url,
        SANDBOX_CALLBACK_URL=f"{bot_url}/wecom/callback",
        SANDBOX_OA_CALLBACK_URL=f"{bot_url}/wechat/callback",
    )
    private, public = demo_archive_keys(DEMO_KEY_DIR)
    os.environ.setdefault("QUNKE_ARCHIVE_PRIVATE_KEYS", f"1={private}")
    os.environ.setdefault("SANDBOX_ARCHIVE_PUBLIC_KEY", str(public))
    os.environ.setdefault("SANDBOX_ARCHIVE_KEY_VERSION", "1")
    settings = with_demo_service(load_settings())
    upgrade(settings.database.url)
    ensure_demo_accounts(settings)
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--port", str(sandbox_port)],
        env=os.environ.copy(),
        start_new_session=True,  # Ctrl-C reaches the demo only; the demo stops the sandbox in order
    )
    try:
        run_loop(_demo(settings, sandbox, bot_port), settings)
    except ports.PortProblem as problem:
        ports.fail(problem)
    finally:
        _stop(sandbox)


def with_demo_service(settings: Settings) -> Settings:
    """The demo's managers and on-duty rep, where the config names none: a hand-off in the demo reaches a person."""
    service = settings.service
    filled = {key: value for key, value in DEMO_SERVICE.items() if not getattr(service, key)}
    if not filled:
        return settings
    return settings.model_copy(update={"service": service.model_copy(update=filled)})


async def _demo(settings: Settings, sandbox: subprocess.Popen[bytes], port: int) -> None:
    sandbox_url, bot_url = os.environ["SANDBOX_URL"], f"http://{settings.server.host}:{port}"
    await ports.wait_for_own_sandbox(sandbox, sandbox_url, os.environ["SANDBOX_CALLBACK_URL"])
    cli = ".venv/bin/qunke sandbox" + ("" if sandbox_url.endswith(f":{SANDBOX_PORT}") else f" --url {sandbox_url}")
    service = settings.service
    banner = DEMO_BANNER.format(
        bot=bot_url,
        sandbox=sandbox_url,
        cli=cli,
        console=banner_lines(bot_url),
        managers=",".join(service.managers),
        on_duty=",".join(service.on_duty),
    )
    ready = asyncio.create_task(_verify_callback_url(sandbox_url, os.environ["SANDBOX_CALLBACK_URL"]))
    try:
        await _serve(settings, settings.server.host, port, on_ready=banner)
    finally:
        ready.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ready


async def _verify_callback_url(sandbox_url: str, callback_url: str) -> None:
    """Do what an admin does when saving the callback URL in WeCom's console: the GET verification, once the bot
    listens (the sandbox is up first, so an early check would only see a refused connection)."""
    result = await verify_when_bot_answers(sandbox_url)
    typer.echo(describe(result, callback_url))


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    typer.echo("沙箱与机器人已停止 (sandbox and bot stopped)")


def demo_archive_keys(folder: Path) -> tuple[Path, Path]:
    """The demo's archive key pair, made once: the bot keeps the private key, the sandbox gets the public one
    (in a real corp the public key is pasted into WeCom's admin console)"""
    private, public = folder / "archive_private.pem", folder / "archive_public.pem"
    if private.is_file() and public.is_file():
        return private.resolve(), public.resolve()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    private.chmod(0o600)
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return private.resolve(), public.resolve()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


DEMO_BANNER: Final = """
================ Qunke 群客 演示 (demo) ================
  机器人 bot:           {bot}   (/healthz, /metrics, /wecom/callback)
  客户模拟器 simulator: {sandbox}/sandbox/
{console}  数据 data:            ./var/qunke.db (SQLite, WAL)
  主管 managers:        {managers}   值班客服 on duty: {on_duty}

在模拟器页面里以客户或客服身份发言、加群、加好友，或在另一个终端试试 (try, in another terminal):
  {cli} state
  {cli} say --as <external_userid> --in kf "请问怎么退货"
  {cli} say --as <external_userid> --in <chat_id> "群里问一下发票"   (会话存档约 15 秒内送达)
  {cli} say --as <openid> --in oa "公众号留言"
  {cli} act join-group --customer <external_userid> --group <chat_id> --scene qr
  .venv/bin/qunke customer list
  .venv/bin/qunke customer show 1
  .venv/bin/qunke events list
  {cli} log
按 Ctrl-C 停止 (press Ctrl-C to stop both).
========================================================
"""
