"""Listening ports for `qunke demo`: refuse a busy port up front, and make sure the sandbox that answers is ours."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import subprocess

import aiohttp
import typer


class PortProblem(Exception):
    """A port the demo cannot use, already phrased for the person who ran it."""


def require_free(host: str, port: int, flag: str) -> None:
    """Bind and release `host:port` the way aiohttp will (SO_REUSEADDR), so a busy port fails before anything starts."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            why = "已被占用 (in use)" if exc.errno == errno.EADDRINUSE else f"无法监听 ({exc.strerror or exc})"
            raise PortProblem(f"端口 {host}:{port} {why}：请用 {flag} 换一个端口，例如 {flag} {port + 10}") from None


def fail(problem: PortProblem) -> None:
    typer.secho(str(problem), fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


async def wait_for_own_sandbox(
    process: subprocess.Popen[bytes], sandbox_url: str, callback_url: str, seconds: float = 15.0
) -> None:
    """Wait until the sandbox we started answers; a sandbox that calls back elsewhere is somebody else's."""
    async with aiohttp.ClientSession() as http:
        for _ in range(int(seconds * 10)):
            if process.poll() is not None:
                why = f"沙箱没有启动（退出码 {process.returncode}）：{sandbox_url} 可能已被占用"
                raise PortProblem(f"{why}，请用 --sandbox-port 换一个端口")
            state = await _state(http, sandbox_url)
            if state is not None:
                if state.get("callback_url") not in (None, callback_url):
                    other = f"{sandbox_url} 上是另一个沙箱（回调到 {state.get('callback_url')}）"
                    raise PortProblem(f"{other}：请用 --sandbox-port 换一个端口")
                return
            await asyncio.sleep(0.1)
    raise PortProblem(f"沙箱在 {seconds:.0f} 秒内没有在 {sandbox_url} 启动 (the sandbox did not start)")


async def _state(http: aiohttp.ClientSession, sandbox_url: str) -> dict[str, object] | None:
    with contextlib.suppress(aiohttp.ClientError, ValueError):
        async with http.get(f"{sandbox_url}/sandbox/state") as resp:
            if resp.status == 200:
                body = await resp.json()
                return body if isinstance(body, dict) else None
    return None
