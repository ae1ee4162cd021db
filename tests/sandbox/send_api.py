"""Helpers for the sending-side sandbox tests: a sandbox on a fixed clock, qyapi calls, log filters."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from pytest_aiohttp import AiohttpClient

from sandbox.app import create_app
from sandbox.clock import FixedClock
from sandbox.config import SandboxConfig
from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import DEMO, FAST, Client, get_json, log, post_json, to_receiver

BEIJING = timezone(timedelta(hours=8))
# 09:00 Beijing time on the first day of April, a 30-day month.
APRIL_1 = datetime(2026, 4, 1, 9, 0, tzinfo=BEIJING)
MEMBERS = ("zhangsan", "lisi", "wangwu", "zhaoliu")


async def fixed_sandbox(
    aiohttp_client: AiohttpClient, receiver: Receiver, start: datetime = APRIL_1, **overrides: Any
) -> Client:
    """A sandbox whose clock moves only when told to; new mass tasks are readable at once unless overridden."""
    config = SandboxConfig(**{**FAST, **to_receiver(receiver.url), "task_dispatch_s": 0.0, **overrides})
    return await aiohttp_client(create_app(config, FixedClock(start)))


async def api(client: Client, path: str, access_token: str, body: Any = None) -> dict[str, Any]:
    status, data = await post_json(client, path, body, access_token=access_token)
    assert status == 200, data
    return data


async def send(client: Client, access_token: str, touser: str, content: str = "你好", **extra: Any) -> dict[str, Any]:
    body = {"touser": touser, "msgtype": "text", "agentid": DEMO.agent_id, "text": {"content": content}, **extra}
    return await api(client, "/cgi-bin/message/send", access_token, body)


async def advance(client: Client, seconds: float) -> None:
    status, data = await post_json(client, "/sandbox/clock/advance", {"seconds": seconds})
    assert status == 200, data


async def limits(client: Client) -> dict[str, Any]:
    return await get_json(client, "/sandbox/limits")


async def entries(client: Client, *kinds: str) -> list[dict[str, Any]]:
    return [entry for entry in await log(client) if entry["kind"] in kinds]
