"""CLI commands that run things: `serve`, `demo` (sandbox + bot together) and `db upgrade`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from typing import Annotated, Final

import aiohttp
import typer
from aiohttp import web

from bot.app import create_app
from bot.config import Settings, load_settings
from storage.migrate import upgrade

db_app = typer.Typer(no_args_is_help=True, help="Database schema.")

# The demo corp's credentials; the sandbox seeds the same corp with the same values (sandbox/config.py).
DEMO_ENV: Final = {
    "WECOM_CORP_ID": "ww5a1f0c9e2b7d4a31",
    "WECOM_SECRET": "qunke-demo-secret-0f3c9a7e5b",
    "WECOM_AGENT_ID": "1000002",
    "WECOM_TOKEN": "QunkeDemoToken2026",
    "WECOM_AES_KEY": "yQu5ggX7NX1xmsAPW0EbgYJB67kkb5lfSee7YPbtkyQ",
}
SANDBOX_PORT: Final = 8081


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database (SQLite or PostgreSQL) to the latest schema."""
    settings = load_settings()
    upgrade(settings.database.url)
    typer.echo(f"数据库已是最新结构 (database migrated): {_safe_url(settings.database.url)}")


def serve(
    host: Annotated[str | None, typer.Option(help="Default from config.yaml (127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Default from config.yaml (8080).")] = None,
) -> None:
    """Run the bot: the webhook, ingest and every background worker."""
    settings = load_settings()
    asyncio.run(_serve(settings, host or settings.server.host, port or settings.server.port))


async def _serve(settings: Settings, host: str, port: int, on_ready: str = "") -> None:
    runner = web.AppRunner(create_app(settings), handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
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


def demo() -> None:
    """Start the sandbox and the bot on SQLite with the seeded demo corp; Ctrl-C stops both."""
    for key, value in DEMO_ENV.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("WECOM_API_BASE", f"http://127.0.0.1:{SANDBOX_PORT}")
    settings = load_settings()
    bot_url = f"http://{settings.server.host}:{settings.server.port}"
    os.environ.setdefault("SANDBOX_CALLBACK_URL", f"{bot_url}/wecom/callback")
    upgrade(settings.database.url)
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--port", str(SANDBOX_PORT)],
        env=os.environ.copy(),
        start_new_session=True,  # Ctrl-C reaches the demo only; the demo stops the sandbox in order
    )
    try:
        asyncio.run(_demo(settings, bot_url))
    finally:
        _stop(sandbox)


async def _demo(settings: Settings, bot_url: str) -> None:
    sandbox_url = f"http://127.0.0.1:{SANDBOX_PORT}"
    await _wait_until_up(f"{sandbox_url}/sandbox/state")
    banner = DEMO_BANNER.format(bot=bot_url, sandbox=sandbox_url)
    ready = asyncio.create_task(_verify_callback_url(sandbox_url))
    try:
        await _serve(settings, settings.server.host, settings.server.port, on_ready=banner)
    finally:
        ready.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ready


async def _verify_callback_url(sandbox_url: str) -> None:
    """Do what an admin does when saving the callback URL in WeCom's console: the GET verification."""
    await asyncio.sleep(0.5)
    async with aiohttp.ClientSession() as http, http.post(f"{sandbox_url}/sandbox/verify-url") as resp:
        result = await resp.json()
    typer.echo(f"回调 URL 验证 (callback URL verification): {'通过 ok' if result.get('ok') else result}")


async def _wait_until_up(url: str, seconds: float = 15.0) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(int(seconds * 10)):
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the sandbox did not start at {url}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    typer.echo("沙箱与机器人已停止 (sandbox and bot stopped)")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


DEMO_BANNER: Final = """
================ Qunke 群客 演示 (demo) ================
  机器人 bot:           {bot}   (/healthz, /metrics, /wecom/callback)
  客户模拟器 simulator: {sandbox}/sandbox/
  数据 data:            ./var/qunke.db (SQLite, WAL)

在模拟器页面里让客户加群、加好友，或在另一个终端试试 (try, in another terminal):
  .venv/bin/qunke sandbox state
  .venv/bin/qunke sandbox act join-group --customer <external_userid> --group <chat_id> --scene qr
  .venv/bin/qunke customer list
  .venv/bin/qunke customer show 1
  .venv/bin/qunke events list
  .venv/bin/qunke sandbox log
按 Ctrl-C 停止 (press Ctrl-C to stop both).
========================================================
"""
