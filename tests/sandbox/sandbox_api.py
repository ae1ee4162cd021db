"""Small typed calls against a sandbox under test, so tests read as behaviour rather than HTTP plumbing."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp.test_utils import TestClient

from sandbox.config import OAConfig, SandboxConfig

# Chaos off and tiny timeouts: tests that want chaos ask for it.
FAST: dict[str, Any] = {
    "duplicate_rate": 0.0,
    "late_rate": 0.0,
    "callback_timeout_s": 0.3,
    "retry_interval_s": 0.05,
    "retries": 3,
    # groupchat/get answers at once; the lag test asks for WeCom's ~2 s.
    "groupchat_lag_s": 0.0,
}
DEMO = SandboxConfig()


def to_receiver(receiver_url: str) -> dict[str, Any]:
    """Both callback URLs on the test's receiver: the OA default would post into a demo running on port 8080."""
    oa_url = receiver_url.replace("/wecom/callback", "/wechat/callback")
    return {"callback_url": receiver_url, "oa": OAConfig(callback_url=oa_url)}


Client = TestClient[Any, Any]


async def get_json(client: Client, path: str, **params: str) -> dict[str, Any]:
    async with client.get(path, params=params) as response:
        assert response.status == 200, await response.text()
        data: dict[str, Any] = await response.json()
        return data


async def post_json(client: Client, path: str, body: Any = None, **params: str) -> tuple[int, dict[str, Any]]:
    async with client.post(path, json=body, params=params) as response:
        data: dict[str, Any] = await response.json()
        return response.status, data


async def act(client: Client, action: str, **body: Any) -> dict[str, Any]:
    status, data = await post_json(client, f"/sandbox/act/{action}", body)
    assert status == 200, data
    return data


async def token(client: Client) -> str:
    data = await get_json(client, "/cgi-bin/gettoken", corpid=DEMO.corp_id, corpsecret=DEMO.secret)
    assert data["errcode"] == 0, data
    access_token: str = data["access_token"]
    return access_token


async def state(client: Client) -> dict[str, Any]:
    return await get_json(client, "/sandbox/state")


async def log(client: Client, since: int = 0) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = (await get_json(client, "/sandbox/log", since=str(since)))["entries"]
    return entries


async def settle(client: Client, within_s: float = 10.0) -> None:
    """Wait until the sandbox has no delivery left in flight."""
    deadline = time.monotonic() + within_s
    while (await get_json(client, "/sandbox/pending"))["pending"]:
        if time.monotonic() > deadline:
            raise AssertionError("deliveries still pending")
        await asyncio.sleep(0.02)


def customer_named(data: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in data["customers"] if c["name"] == name)
    return found


def group_named(data: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(g for g in data["groups"] if g["name"] == name)
    return found
