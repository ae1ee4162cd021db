"""Mass tasks after creation in the sandbox: paging, reminders, cancelling, dispatch, auto-confirm, page and CLI."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient
from typer.testing import CliRunner

from sandbox.cli.main import app as cli_app
from tests.sandbox.mass_task_support import Corp, make_corp
from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import Client, get_json, state, token
from tests.sandbox.send_api import advance, entries, limits


@pytest.fixture
async def corp(aiohttp_client: AiohttpClient, receiver: Receiver) -> Corp:
    return await make_corp(aiohttp_client, receiver)


async def _pages(corp: Corp, name: str, key: str, **body: Any) -> list[list[dict[str, Any]]]:
    pages, cursor = [], ""
    while True:
        data = await corp.call(name, cursor=cursor, **body)
        assert data["errcode"] == 0, data
        pages.append(data[key])
        cursor = data["next_cursor"]
        if not cursor:
            return pages


async def test_groupmsg_list_pages_by_cursor_and_filters_by_time_type_and_creator(corp: Corp) -> None:
    now = (await limits(corp.client))["now"]
    msgids = []
    for n in range(5):
        created = await corp.create("Lemon柠檬", sender="zhangsan", text={"content": f"第{n}期"})
        msgids.append(created["msgid"])
        await advance(corp.client, 60)
    await corp.call("add_msg_template", chat_type="group", sender="lisi", text={"content": "群发"})
    window = {"chat_type": "single", "start_time": now, "end_time": now + 3600}
    pages = await _pages(corp, "get_groupmsg_list_v2", "group_msg_list", limit=2, **window)
    assert [[item["msgid"] for item in page] for page in pages] == [msgids[:2], msgids[2:4], msgids[4:]]
    first = pages[0][0]
    assert first == {"msgid": msgids[0], "create_time": now, "create_type": 0, "text": {"content": "第0期"}}
    assert len((await corp.call("get_groupmsg_list_v2", limit=500, **window))["group_msg_list"]) == 5
    late = {**window, "start_time": now + 150}
    assert [i["msgid"] for i in (await corp.call("get_groupmsg_list_v2", **late))["group_msg_list"]] == msgids[3:]
    groups = await corp.call("get_groupmsg_list_v2", **{**window, "chat_type": "group"})
    assert [item["text"]["content"] for item in groups["group_msg_list"]] == ["群发"]
    # API-created tasks have no creator: filtering by one, or asking for 个人发表, finds none of them.
    assert (await corp.call("get_groupmsg_list_v2", creator="zhangsan", **window))["group_msg_list"] == []
    assert (await corp.call("get_groupmsg_list_v2", filter_type=1, **window))["group_msg_list"] == []
    too_long = {**window, "end_time": now + 30 * 86_400 + 1}
    assert (await corp.call("get_groupmsg_list_v2", **too_long))["errcode"] == 40058
    assert (await corp.call("get_groupmsg_list_v2", cursor="not-ours", **window))["errcode"] == 50100


async def test_task_and_send_result_page_by_cursor(corp: Corp) -> None:
    spread = await corp.create("小鹿乱撞🦌", "王姐(宝妈)", "大刘")
    pages = await _pages(corp, "get_groupmsg_task", "task_list", msgid=spread["msgid"], limit=2)
    assert [[item["userid"] for item in page] for page in pages] == [["zhangsan", "lisi"], ["wangwu"]]
    five = await corp.create("小鹿乱撞🦌", "Lemon柠檬", "🌻向日葵", "静待花开", "陈经理", sender="zhangsan")
    body = {"msgid": five["msgid"], "userid": "zhangsan", "limit": 2}
    pages = await _pages(corp, "get_groupmsg_send_result", "send_list", **body)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert len({item["external_userid"] for page in pages for item in page}) == 5
    # A member with no part in the task has no results; a msgid never issued is 41047, none at all 41046.
    assert await corp.results(five["msgid"], "lisi") == []
    assert (await corp.call("get_groupmsg_task", msgid="msgNOPE"))["errcode"] == 41047
    assert (await corp.call("get_groupmsg_task"))["errcode"] == 41046


async def test_remind_is_refused_after_three_times_in_24_hours(corp: Corp) -> None:
    msgid = (await corp.create("Lemon柠檬", sender="zhangsan"))["msgid"]
    answers = [(await corp.call("remind_groupmsg_send", msgid=msgid))["errcode"] for _ in range(4)]
    assert answers == [0, 0, 0, 41094]
    await advance(corp.client, 86_400)
    corp.access_token = await token(corp.client)
    assert (await corp.call("remind_groupmsg_send", msgid=msgid))["errcode"] == 0
    reminded = [e for e in await entries(corp.client, "mass_task") if e["action"] == "reminded"]
    assert len(reminded) == 4


async def test_cancel_stops_unsent_parts_and_a_sent_task_cannot_be_cancelled(corp: Corp) -> None:
    spread = (await corp.create("小鹿乱撞🦌", "王姐(宝妈)", "大刘"))["msgid"]
    await corp.confirm(spread, "zhangsan")
    assert (await corp.call("cancel_groupmsg_send", msgid=spread))["errcode"] == 0
    status, refused = await corp.confirm(spread, "lisi")
    assert (status, refused["error"]["code"]) == (409, "task_cancelled")
    assert (await corp.call("cancel_groupmsg_send", msgid=spread))["errcode"] == 41093
    assert (await corp.call("remind_groupmsg_send", msgid=spread))["errcode"] == 41093
    task_list = (await corp.call("get_groupmsg_task", msgid=spread))["task_list"]
    assert [(item["userid"], item["status"]) for item in task_list] == [("zhangsan", 2), ("lisi", 0), ("wangwu", 0)]
    skipped = await entries(corp.client, "mass_message_skipped")
    assert [(s["sender"], s["reason"]) for s in skipped] == [("lisi", "cancelled"), ("wangwu", "cancelled")]
    assert len(await entries(corp.client, "mass_message")) == 1
    sent = (await corp.create("Lemon柠檬", sender="zhangsan"))["msgid"]
    await corp.confirm(sent, "zhangsan")
    assert (await corp.call("cancel_groupmsg_send", msgid=sent))["errcode"] == 40058


async def test_new_task_answers_41063_while_it_is_being_dispatched(
    aiohttp_client: AiohttpClient, receiver: Receiver
) -> None:
    corp = await make_corp(aiohttp_client, receiver, task_dispatch_s=2.0)
    msgid = (await corp.create("Lemon柠檬", sender="zhangsan"))["msgid"]
    assert (await corp.call("get_groupmsg_task", msgid=msgid))["errcode"] == 41063
    assert (await corp.call("get_groupmsg_send_result", msgid=msgid, userid="zhangsan"))["errcode"] == 41063
    status, refused = await corp.confirm(msgid, "zhangsan")
    assert (status, refused["error"]["code"]) == (409, "dispatching")
    await advance(corp.client, 2)
    assert (await corp.call("get_groupmsg_task", msgid=msgid))["errcode"] == 0
    assert (await corp.confirm(msgid, "zhangsan"))[0] == 200


async def test_member_confirms_on_their_own_when_auto_confirm_is_set(
    aiohttp_client: AiohttpClient, receiver: Receiver
) -> None:
    corp = await make_corp(aiohttp_client, receiver, task_auto_confirm_s=300.0)
    msgid = (await corp.create("Lemon柠檬", "小鹿乱撞🦌", "阿杰"))["msgid"]
    await advance(corp.client, 299)
    assert {item["status"] for item in (await corp.call("get_groupmsg_task", msgid=msgid))["task_list"]} == {0}
    await advance(corp.client, 1)
    assert {item["status"] for item in (await corp.call("get_groupmsg_task", msgid=msgid))["task_list"]} == {2}
    assert len(await entries(corp.client, "mass_message")) == 3


async def test_state_and_tasks_page_show_tasks_with_who_may_confirm(corp: Corp) -> None:
    msgid = (await corp.create("Lemon柠檬", sender="zhangsan"))["msgid"]
    [task] = (await state(corp.client))["mass_tasks"]
    assert (task["msgid"], task["sender"], task["text"]) == (msgid, "zhangsan", "新品上市")
    [part] = task["parts"]
    assert (part["userid"], part["can_confirm"], part["targets"][0]["name"]) == ("zhangsan", True, "Lemon柠檬")
    assert (await get_json(corp.client, "/sandbox/tasks"))["tasks"] == [task]
    async with corp.client.get("/sandbox/tasks.html") as response:
        assert response.status == 200 and response.content_type == "text/html"
        assert "确认发送" in await response.text()
    async with corp.client.get("/sandbox/tasks.js") as response:
        assert response.status == 200 and "/sandbox/act/confirm-task" in await response.text()


async def _cli(client: Client, *args: str) -> Any:
    env = {"SANDBOX_URL": str(client.make_url("")), "COLUMNS": "200"}
    return await asyncio.to_thread(CliRunner().invoke, cli_app, list(args), env=env)


async def test_cli_confirms_a_task_and_lists_tasks(corp: Corp) -> None:
    msgid = (await corp.create("Lemon柠檬", sender="zhangsan"))["msgid"]
    confirmed = await _cli(corp.client, "act", "confirm-task", "--msgid", msgid, "--member", "zhangsan")
    assert confirmed.exit_code == 0, confirmed.output
    assert "已确认发送" in confirmed.output and "已发送" in confirmed.output
    listed = await _cli(corp.client, "tasks", "--json")
    assert json.loads(listed.output)["tasks"][0]["parts"][0]["status"] == 2
    refused = await _cli(corp.client, "act", "confirm-task", "--msgid", msgid, "--member", "zhangsan")
    assert refused.exit_code == 1 and "已经发送" in refused.output
    logged = await _cli(corp.client, "log")
    assert logged.exit_code == 0 and "群发任务：创建" in logged.output
