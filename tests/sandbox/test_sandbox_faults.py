"""Fault injection on /cgi-bin/: errcodes N times, token revocation, latency, connections dropped before or after."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest
from typer.testing import CliRunner

from sandbox.cli.main import app as cli_app
from tests.sandbox.sandbox_api import DEMO, Client, get_json, post_json, token
from tests.sandbox.send_api import entries, send

USER_GET = "/cgi-bin/user/get"
SEND = "/cgi-bin/message/send"
DISCONNECTED = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)


async def _fault(client: Client, **body: Any) -> dict[str, Any]:
    status, data = await post_json(client, "/sandbox/faults", body)
    assert status == 200, data
    fault: dict[str, Any] = data["fault"]
    return fault


async def _user_get(client: Client, access_token: str) -> int:
    errcode: int = (await get_json(client, USER_GET, userid="zhangsan", access_token=access_token))["errcode"]
    return errcode


async def _raw_send(client: Client, access_token: str, content: str, **extra: Any) -> None:
    body = {"touser": "zhangsan", "msgtype": "text", "agentid": DEMO.agent_id, "text": {"content": content}, **extra}
    async with client.post(SEND, json=body, params={"access_token": access_token}) as response:
        await response.read()


async def _eventually(client: Client, kind: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while len(found := await entries(client, kind)) < count:
        assert time.monotonic() < deadline, f"no {kind} record appeared"
        await asyncio.sleep(0.02)
    return found


async def test_injected_errcode_answers_n_times_then_stops(sandbox: Client) -> None:
    access_token = await token(sandbox)
    fault = await _fault(sandbox, api=USER_GET, errcode=-1, times=2)
    assert (fault["api"], fault["errcode"], fault["times"], fault["remaining"]) == (USER_GET, -1, 2, 2)
    assert [await _user_get(sandbox, access_token) for _ in range(3)] == [-1, -1, 0]
    assert (await get_json(sandbox, "/sandbox/faults"))["faults"] == []
    records = await entries(sandbox, "fault")
    assert [(r["api"], r["errcode"], r["executed"], r["remaining"]) for r in records] == [
        (USER_GET, -1, False, 1),
        (USER_GET, -1, False, 0),
    ]


async def test_injected_errcode_does_not_execute_the_send(sandbox: Client) -> None:
    access_token = await token(sandbox)
    await _fault(sandbox, api=SEND, errcode=45009)
    assert (await send(sandbox, access_token, "zhangsan"))["errcode"] == 45009
    assert (await send(sandbox, access_token, "zhangsan"))["errcode"] == 0
    assert len(await entries(sandbox, "app_message")) == 1


async def test_injected_42001_expires_the_token_so_only_a_refresh_helps(sandbox: Client) -> None:
    access_token = await token(sandbox)
    await _fault(sandbox, api=USER_GET, errcode=42001)
    assert await _user_get(sandbox, access_token) == 42001
    # The fault is used up, yet the old token stays expired: the client has to fetch a new one.
    assert await _user_get(sandbox, access_token) == 42001
    fresh = await token(sandbox)
    assert fresh != access_token
    assert await _user_get(sandbox, fresh) == 0


async def test_injected_40014_invalidates_the_token(sandbox: Client) -> None:
    access_token = await token(sandbox)
    await _fault(sandbox, api=SEND, errcode=40014)
    assert (await send(sandbox, access_token, "zhangsan"))["errcode"] == 40014
    assert await _user_get(sandbox, access_token) == 40014
    assert await _user_get(sandbox, await token(sandbox)) == 0


async def test_drop_before_closes_the_connection_without_sending(sandbox: Client) -> None:
    access_token = await token(sandbox)
    await _fault(sandbox, api=SEND, drop="before")
    with pytest.raises(DISCONNECTED):
        await _raw_send(sandbox, access_token, "第一次")
    assert await entries(sandbox, "app_message") == []
    [record] = await entries(sandbox, "fault")
    assert (record["drop"], record["executed"]) == ("before", False)
    # A plain retry is then the only delivery.
    await send(sandbox, access_token, "zhangsan", "第一次")
    assert [r["content"] for r in await entries(sandbox, "app_message")] == ["第一次"]


async def test_drop_after_sends_and_loses_the_answer_so_duplicate_check_saves_the_retry(sandbox: Client) -> None:
    access_token = await token(sandbox)
    await _fault(sandbox, api=SEND, drop="after")
    with pytest.raises(DISCONNECTED):
        await _raw_send(sandbox, access_token, "订单已发货", enable_duplicate_check=1)
    [record] = await entries(sandbox, "fault")
    assert (record["drop"], record["executed"]) == ("after", True)
    assert [r["content"] for r in await entries(sandbox, "app_message")] == ["订单已发货"]
    retry = await send(sandbox, access_token, "zhangsan", "订单已发货", enable_duplicate_check=1)
    assert retry["errcode"] == 0
    assert len(await entries(sandbox, "app_message")) == 1
    assert len(await entries(sandbox, "app_message_duplicate")) == 1


async def test_latency_holds_the_answer_after_the_send_is_done(sandbox: Client) -> None:
    access_token = await token(sandbox)
    await _fault(sandbox, api=SEND, latency_ms=1500)
    body = {"touser": "zhangsan", "msgtype": "text", "agentid": DEMO.agent_id, "text": {"content": "慢"}}
    with pytest.raises(TimeoutError):
        await sandbox.post(SEND, json=body, params={"access_token": access_token}, timeout=aiohttp.ClientTimeout(0.2))
    # The client gave up, but the send happened: only the answer was late.
    [delivered] = await _eventually(sandbox, "app_message", 1)
    assert delivered["content"] == "慢"
    [record] = await entries(sandbox, "fault")
    assert (record["latency_ms"], record["executed"]) == (1500, True)


async def test_wildcard_fault_meets_every_api_until_cleared(sandbox: Client) -> None:
    await _fault(sandbox, api="/cgi-bin/*", errcode=-1, times=0)
    gettoken = await get_json(sandbox, "/cgi-bin/gettoken", corpid=DEMO.corp_id, corpsecret=DEMO.secret)
    assert gettoken["errcode"] == -1
    assert (await get_json(sandbox, USER_GET, userid="zhangsan"))["errcode"] == -1
    async with sandbox.delete("/sandbox/faults") as response:
        assert (await response.json()) == {"cleared": 1}
    assert await _user_get(sandbox, await token(sandbox)) == 0


async def test_delete_with_api_clears_only_that_paths_faults(sandbox: Client) -> None:
    await _fault(sandbox, api=USER_GET, errcode=-1)
    await _fault(sandbox, api=SEND, errcode=-1)
    async with sandbox.delete("/sandbox/faults", params={"api": USER_GET}) as response:
        assert (await response.json()) == {"cleared": 1}
    assert [f["api"] for f in (await get_json(sandbox, "/sandbox/faults"))["faults"]] == [SEND]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"api": "/sandbox/state", "errcode": -1}, "bad_api"),
        ({"api": SEND, "errcode": -1, "drop": "after"}, "bad_fault"),
        ({"api": SEND, "drop": "sideways"}, "bad_drop"),
        ({"api": SEND}, "empty_fault"),
        ({"api": SEND, "errcode": 0}, "bad_errcode"),
        ({"api": SEND, "latency_ms": -5}, "bad_latency"),
    ],
)
async def test_fault_is_refused_when_it_cannot_happen(sandbox: Client, body: dict[str, Any], code: str) -> None:
    status, data = await post_json(sandbox, "/sandbox/faults", body)
    assert status == 400
    assert data["error"]["code"] == code
    assert " / " in data["error"]["message"]


async def _cli(sandbox: Client, *args: str) -> Any:
    env = {"SANDBOX_URL": str(sandbox.make_url(""))}
    return await asyncio.to_thread(CliRunner().invoke, cli_app, list(args), env=env)


async def test_cli_adds_lists_and_clears_faults(sandbox: Client) -> None:
    added = await _cli(sandbox, "fault", "--api", SEND, "--errcode", "45009", "--times", "3")
    assert added.exit_code == 0, added.output
    assert "45009" in added.output
    dropped = await _cli(sandbox, "fault", "--api", USER_GET, "--drop-connection", "after", "--latency", "10")
    assert dropped.exit_code == 0, dropped.output
    listed = await _cli(sandbox, "fault", "--list", "--json")
    faults = json.loads(listed.output)["faults"]
    assert [(f["api"], f["errcode"], f["remaining"], f["drop"], f["latency_ms"]) for f in faults] == [
        (SEND, 45009, 3, None, 0),
        (USER_GET, None, 1, "after", 10),
    ]
    cleared = await _cli(sandbox, "fault", "--clear")
    assert cleared.exit_code == 0 and "2" in cleared.output
    assert (await get_json(sandbox, "/sandbox/faults"))["faults"] == []
    refused = await _cli(sandbox, "fault", "--api", "/nope", "--errcode", "-1")
    assert refused.exit_code == 1 and "api" in refused.output
