"""`qunke demo`'s callback URL check: verify once the bot listens, and say the outcome in one Chinese line."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Final

import aiohttp

# The bot migrates, seeds and binds its port after the sandbox is up; a refused connection until then is expected.
WAIT_FOR_BOT_S: Final = 30.0
RETRY_EVERY_S: Final = 0.5
# Outcomes that mean "the bot is not listening yet" rather than "the bot answered wrongly".
_NOT_UP_YET: Final = frozenset({"connection_error", "timeout"})
_WHY: Final = {
    "connection_error": "连不上机器人",
    "timeout": "机器人 1 秒内没有应答",
    "mismatch": "机器人返回的明文与 echostr 不一致（检查 WECOM_TOKEN / WECOM_AES_KEY）",
}


async def verify_when_bot_answers(sandbox_url: str, seconds: float = WAIT_FOR_BOT_S) -> Mapping[str, Any]:
    """Ask the sandbox to verify the callback URL, retrying while the bot is not listening yet."""
    deadline = asyncio.get_running_loop().time() + seconds
    async with aiohttp.ClientSession() as http:
        while True:
            result = await _verify_once(http, sandbox_url)
            if result.get("outcome") not in _NOT_UP_YET or asyncio.get_running_loop().time() >= deadline:
                return result
            await asyncio.sleep(RETRY_EVERY_S)


async def _verify_once(http: aiohttp.ClientSession, sandbox_url: str) -> Mapping[str, Any]:
    try:
        async with http.post(f"{sandbox_url}/sandbox/verify-url") as resp:
            body = await resp.json(content_type=None)
    except (aiohttp.ClientError, ValueError) as exc:
        return {"ok": False, "outcome": "sandbox_error", "detail": str(exc) or type(exc).__name__}
    return body if isinstance(body, dict) else {"ok": False, "outcome": "sandbox_error", "detail": repr(body)}


def describe(result: Mapping[str, Any], callback_url: str) -> str:
    """One readable line for the person running the demo, whether the check passed or not."""
    if result.get("ok"):
        return f"回调 URL 验证通过：{callback_url}（{result.get('elapsed_ms', '?')} ms）"
    outcome = str(result.get("outcome", "unknown"))
    if outcome.startswith("http_"):
        why = f"机器人返回 HTTP {outcome.removeprefix('http_')}"
    elif outcome == "sandbox_error":
        why = f"沙箱没有完成验证（{result.get('detail', '')}）"
    else:
        why = _WHY.get(outcome, outcome)
    return f"回调 URL 验证失败：{callback_url}，{why}；请查看上面的机器人日志"
