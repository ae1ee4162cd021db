"""Per-corp API limits: 45009 per minute and per hour with WeCom's block period, 45033 on parallel reads."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from sandbox.config import SandboxConfig, SandboxConfigError
from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import Client, get_json, post_json, token
from tests.sandbox.send_api import advance, entries, fixed_sandbox, limits, send

USER_GET = "/cgi-bin/user/get"


async def _user_get(client: Client, access_token: str) -> int:
    errcode: int = (await get_json(client, USER_GET, userid="zhangsan", access_token=access_token))["errcode"]
    return errcode


async def test_api_answers_45009_when_per_minute_limit_is_reached(
    aiohttp_client: AiohttpClient, receiver: Receiver
) -> None:
    client = await fixed_sandbox(aiohttp_client, receiver, api_limit_per_min=5)
    access_token = await token(client)
    assert [await _user_get(client, access_token) for _ in range(6)] == [0, 0, 0, 0, 0, 45009]
    usage = (await limits(client))["apis"][USER_GET]
    assert (usage["calls"], usage["peak_minute"], usage["rejected_45009"]) == (5, 5, 1)
    assert usage["blocked_until"] is not None
    # Other APIs have their own budget.
    assert (await get_json(client, "/cgi-bin/externalcontact/get", access_token=access_token))["errcode"] != 45009
    # A per-minute limit blocks for a minute from the refused call, however few calls remain in the window.
    await advance(client, 59)
    assert await _user_get(client, access_token) == 45009
    await advance(client, 1)
    assert await _user_get(client, access_token) == 0
    limited = await entries(client, "api_limited")
    assert [(e["api"], e["errcode"], e["reason"]) for e in limited] == [
        (USER_GET, 45009, "per_minute"),
        (USER_GET, 45009, "blocked"),
    ]


async def test_api_answers_45009_for_an_hour_when_per_hour_limit_is_reached(
    aiohttp_client: AiohttpClient, receiver: Receiver
) -> None:
    client = await fixed_sandbox(aiohttp_client, receiver, api_limit_per_hour=4)
    access_token = await token(client)
    for _ in range(4):
        assert await _user_get(client, access_token) == 0
        await advance(client, 600)
    assert await _user_get(client, access_token) == 45009
    await advance(client, 3599)
    assert await _user_get(client, access_token) == 45009
    await advance(client, 1)
    assert await _user_get(client, access_token) == 0
    assert (await limits(client))["apis"][USER_GET]["peak_hour"] == 4


async def test_message_send_is_not_counted_against_base_limits(
    aiohttp_client: AiohttpClient, receiver: Receiver
) -> None:
    client = await fixed_sandbox(aiohttp_client, receiver, api_limit_per_min=2)
    access_token = await token(client)
    answers = [(await send(client, access_token, "zhangsan", str(n)))["errcode"] for n in range(5)]
    assert answers == [0] * 5
    usage = (await limits(client))["apis"]["/cgi-bin/message/send"]
    assert (usage["exempt"], usage["calls"], usage["rejected_45009"]) == (True, 5, 0)


async def _wait_in_flight(client: Client, api: str, count: int) -> None:
    deadline = time.monotonic() + 10
    while (await limits(client))["apis"].get(api, {}).get("in_flight") != count:
        assert time.monotonic() < deadline, "reads never became concurrent"
        await asyncio.sleep(0.01)


async def test_read_api_answers_45033_when_too_many_calls_run_at_once(
    aiohttp_client: AiohttpClient, receiver: Receiver
) -> None:
    client = await fixed_sandbox(aiohttp_client, receiver, read_concurrency=2)
    access_token = await token(client)
    # A slow answer keeps the first two reads in flight while the third arrives.
    status, _ = await post_json(client, "/sandbox/faults", {"api": USER_GET, "latency_ms": 1500, "times": 2})
    assert status == 200
    slow = [asyncio.create_task(_user_get(client, access_token)) for _ in range(2)]
    await _wait_in_flight(client, USER_GET, 2)
    assert await _user_get(client, access_token) == 45033
    assert await asyncio.gather(*slow) == [0, 0]
    assert await _user_get(client, access_token) == 0
    usage: dict[str, Any] = (await limits(client))["apis"][USER_GET]
    assert (usage["peak_in_flight"], usage["rejected_45033"], usage["read"]) == (2, 1, True)


async def test_write_api_is_not_limited_by_read_concurrency(aiohttp_client: AiohttpClient, receiver: Receiver) -> None:
    client = await fixed_sandbox(aiohttp_client, receiver, read_concurrency=1)
    access_token = await token(client)
    await post_json(client, "/sandbox/faults", {"api": "/cgi-bin/message/send", "latency_ms": 1500, "times": 2})
    slow = [asyncio.create_task(send(client, access_token, name)) for name in ("zhangsan", "lisi")]
    await _wait_in_flight(client, "/cgi-bin/message/send", 2)
    assert [answer["errcode"] for answer in await asyncio.gather(*slow)] == [0, 0]


async def test_limits_report_configured_values_and_member_counts(sandbox: Client) -> None:
    access_token = await token(sandbox)
    await send(sandbox, access_token, "zhangsan|lisi")
    data = await limits(sandbox)
    assert data["limits"] == {
        "api_per_minute": 10_000,
        "api_per_hour": 150_000,
        "read_concurrency": 10,
        "member_per_minute": 30,
        "member_per_hour": 1000,
        "app_daily_cap": 40_000,
        "mass_cap": "days_in_month",
    }
    assert data["members"]["lisi"]["delivered"] == 1
    assert data["apis"]["/cgi-bin/gettoken"]["calls"] == 1
    assert data["app"]["person_times_today"] == 2


def test_sending_settings_are_read_from_the_environment() -> None:
    config = SandboxConfig.from_env(
        {
            "SANDBOX_ACCOUNT_CAP": "3",
            "SANDBOX_MASS_CAP": "4",
            "SANDBOX_TASK_AUTO_CONFIRM_S": "30",
            "SANDBOX_TASK_DISPATCH_S": "0",
            "SANDBOX_API_LIMIT_PER_MIN": "100000",
            "SANDBOX_API_LIMIT_PER_HOUR": "1500000",
            "SANDBOX_READ_CONCURRENCY": "50",
        }
    )
    assert (config.account_cap, config.mass_cap, config.task_auto_confirm_s, config.task_dispatch_s) == (3, 4, 30, 0)
    assert (config.api_limit_per_min, config.api_limit_per_hour, config.read_concurrency) == (100_000, 1_500_000, 50)
    defaults = SandboxConfig.from_env({"SANDBOX_MASS_CAP": "days_in_month", "SANDBOX_TASK_AUTO_CONFIRM_S": "off"})
    assert (defaults.mass_cap, defaults.task_auto_confirm_s, defaults.account_cap) == (None, None, 200)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SANDBOX_MASS_CAP", "weekly"),
        ("SANDBOX_MASS_CAP", "0"),
        ("SANDBOX_ACCOUNT_CAP", "0"),
        ("SANDBOX_TASK_AUTO_CONFIRM_S", "-1"),
        ("SANDBOX_API_LIMIT_PER_MIN", "0"),
        ("SANDBOX_READ_CONCURRENCY", "many"),
    ],
)
def test_sending_setting_is_refused_with_its_name_when_invalid(name: str, value: str) -> None:
    with pytest.raises(SandboxConfigError, match=name):
        SandboxConfig.from_env({name: value})
