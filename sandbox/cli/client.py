"""The CLI's HTTP client for a running sandbox, with failures phrased as one line for a person."""

import asyncio
import json
import os
from typing import Final

import aiohttp

from sandbox.wire import Json

DEFAULT_PORT: Final = 8081
DEFAULT_SANDBOX_URL: Final = f"http://127.0.0.1:{DEFAULT_PORT}"
REQUEST_TIMEOUT_S: Final = 15.0


class SandboxCallError(Exception):
    """Why a CLI request failed, already in Chinese and English."""


def sandbox_url() -> str:
    return (os.environ.get("SANDBOX_URL", "").strip() or DEFAULT_SANDBOX_URL).rstrip("/")


def use_sandbox_url(url: str) -> None:
    """Point this process's commands at another sandbox (`--url` / `--port`); the process is one CLI call."""
    os.environ["SANDBOX_URL"] = url


async def _request(method: str, path: str, body: Json | None, params: dict[str, str] | None) -> Json:
    base = sandbox_url()
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(method, base + path, json=body, params=params) as response,
        ):
            status = response.status
            text = await response.text()
    except (aiohttp.ClientError, TimeoutError):
        raise SandboxCallError(
            f"无法连接沙箱 {base}（请先运行 `qunke sandbox`）/ sandbox not reachable at {base}"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise SandboxCallError(f"{base} 返回的不是沙箱的 JSON（HTTP {status}）/ not a sandbox answer") from None
    if not isinstance(data, dict):
        raise SandboxCallError(f"{base} 返回了意外的内容 / unexpected answer")
    if status >= 400:
        error = data.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        raise SandboxCallError(str(message or f"HTTP {status}"))
    return data


def call(method: str, path: str, body: Json | None = None, params: dict[str, str] | None = None) -> Json:
    """One blocking request for a CLI command (each command runs its own short event loop)."""
    return asyncio.run(_request(method, path, body, params))
