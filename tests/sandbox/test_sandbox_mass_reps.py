"""Reps who confirm mass tasks after their own delay, and reps who never do (sandbox/mass_reps.py)."""

from __future__ import annotations

import pytest
from pytest_aiohttp import AiohttpClient

from sandbox.config import SandboxConfigError
from sandbox.mass.reps import parse_rep_confirm
from tests.sandbox.mass_task_support import Corp, make_corp
from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import get_json, post_json
from tests.sandbox.send_api import advance, entries


async def _statuses(corp: Corp, msgid: str) -> dict[str, int]:
    data = await corp.call("get_groupmsg_task", msgid=msgid)
    assert data["errcode"] == 0, data
    task_list = data["task_list"]
    return {item["userid"]: item["status"] for item in task_list}


async def test_each_rep_confirms_after_their_own_delay_and_a_never_rep_waits_for_a_person(
    aiohttp_client: AiohttpClient, receiver: Receiver
) -> None:
    corp = await make_corp(aiohttp_client, receiver)
    for body in ({"userid": "lisi", "confirm_after_s": 60}, {"userid": "zhangsan", "never": True}):
        status, data = await post_json(corp.client, "/sandbox/mass/reps", body)
        assert status == 200 and data["ok"], data
    assert (await get_json(corp.client, "/sandbox/mass/reps"))["reps"] == {"lisi": 60.0, "zhangsan": None}
    msgid = (await corp.create("小鹿乱撞🦌", "王姐(宝妈)", "大刘"))["msgid"]  # zhangsan, lisi, wangwu

    await advance(corp.client, 59)
    assert await _statuses(corp, msgid) == {"zhangsan": 0, "lisi": 0, "wangwu": 0}
    await advance(corp.client, 1)
    assert await _statuses(corp, msgid) == {"zhangsan": 0, "lisi": 2, "wangwu": 0}
    await advance(corp.client, 3600)  # within the access token's 2 h
    assert await _statuses(corp, msgid) == {"zhangsan": 0, "lisi": 2, "wangwu": 0}
    assert (await corp.confirm(msgid, "zhangsan"))[0] == 200  # a person can still confirm for them
    assert [e["sender"] for e in await entries(corp.client, "mass_message")] == ["lisi", "zhangsan"]


async def test_rep_behaviour_is_refused_with_a_clear_error_when_the_request_is_wrong(
    aiohttp_client: AiohttpClient, receiver: Receiver
) -> None:
    corp = await make_corp(aiohttp_client, receiver)
    status, data = await post_json(corp.client, "/sandbox/mass/reps", {"userid": "lisi", "confirm_after_s": -1})
    assert status == 400 and "confirm_after_s" in data["error"]["message"], data
    status, data = await post_json(corp.client, "/sandbox/mass/reps", {"userid": "nobody", "never": True})
    assert status == 404, data


def test_rep_confirm_setting_is_read_or_refused_naming_the_entry_when_it_is_wrong() -> None:
    assert parse_rep_confirm("lisi=30, wangwu=never,") == {"lisi": 30.0, "wangwu": None}
    assert parse_rep_confirm("") == {}
    with pytest.raises(SandboxConfigError, match="SANDBOX_REP_CONFIRM: expected userid=seconds"):
        parse_rep_confirm("lisi")
    with pytest.raises(SandboxConfigError, match="'wangwu=soon'"):
        parse_rep_confirm("wangwu=soon")
