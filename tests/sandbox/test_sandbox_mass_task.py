"""企业群发: tasks wait for the member, the monthly cap, get_groupmsg_* results and paging, remind, cancel."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient
from typer.testing import CliRunner

from sandbox.cli.main import app as cli_app
from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import Client, act, customer_named, get_json, group_named, post_json, state, token
from tests.sandbox.send_api import advance, api, entries, fixed_sandbox, limits

EC = "/cgi-bin/externalcontact/"


class Corp:
    """The demo corp's ids by nickname, and qyapi calls with a token."""

    def __init__(self, client: Client, access_token: str, data: dict[str, Any]) -> None:
        self.client = client
        self.access_token = access_token
        self._data = data

    def customer(self, name: str) -> str:
        external_userid: str = customer_named(self._data, name)["external_userid"]
        return external_userid

    def group(self, name: str) -> str:
        chat_id: str = group_named(self._data, name)["chat_id"]
        return chat_id

    async def call(self, name: str, **body: Any) -> dict[str, Any]:
        return await api(self.client, EC + name, self.access_token, body)

    async def create(self, *names: str, **body: Any) -> dict[str, Any]:
        ids = [self.customer(name) for name in names]
        return await self.call("add_msg_template", external_userid=ids, **{"text": {"content": "新品上市"}, **body})

    async def confirm(self, msgid: str, member: str) -> tuple[int, dict[str, Any]]:
        return await post_json(self.client, "/sandbox/act/confirm-task", {"msgid": msgid, "member": member})

    async def results(self, msgid: str, userid: str, **body: Any) -> list[dict[str, Any]]:
        data = await self.call("get_groupmsg_send_result", msgid=msgid, userid=userid, **body)
        assert data["errcode"] == 0, data
        send_list: list[dict[str, Any]] = data["send_list"]
        return send_list


async def _corp(aiohttp_client: AiohttpClient, receiver: Receiver, **overrides: Any) -> Corp:
    client = await fixed_sandbox(aiohttp_client, receiver, **overrides)
    return Corp(client, await token(client), await state(client))


@pytest.fixture
async def corp(aiohttp_client: AiohttpClient, receiver: Receiver) -> Corp:
    return await _corp(aiohttp_client, receiver)


async def test_task_delivers_nothing_until_the_member_confirms(corp: Corp) -> None:
    created = await corp.create("小鹿乱撞🦌", "Lemon柠檬", "阿杰", sender="zhangsan")
    assert created["errcode"] == 0 and created["msgid"].startswith("msg")
    # 阿杰 is not zhangsan's customer, so he cannot be sent to by zhangsan.
    assert created["fail_list"] == [corp.customer("阿杰")]
    msgid = created["msgid"]
    assert await entries(corp.client, "mass_message") == []
    task = await corp.call("get_groupmsg_task", msgid=msgid)
    assert task["task_list"] == [{"userid": "zhangsan", "status": 0}]
    unsent = await corp.results(msgid, "zhangsan")
    assert [(r["external_userid"], r["status"], "send_time" in r) for r in unsent] == [
        (corp.customer("小鹿乱撞🦌"), 0, False),
        (corp.customer("Lemon柠檬"), 0, False),
    ]
    status, confirmed = await corp.confirm(msgid, "zhangsan")
    assert status == 200 and confirmed["ok"] is True
    delivered = await entries(corp.client, "mass_message")
    assert [(d["external_userid"], d["sender"], d["text"]) for d in delivered] == [
        (corp.customer("小鹿乱撞🦌"), "zhangsan", "新品上市"),
        (corp.customer("Lemon柠檬"), "zhangsan", "新品上市"),
    ]
    [part] = (await corp.call("get_groupmsg_task", msgid=msgid))["task_list"]
    assert (part["status"], part["send_time"]) == (2, confirmed["task"]["parts"][0]["send_time"])
    assert [(r["status"], "send_time" in r) for r in await corp.results(msgid, "zhangsan")] == [(1, True), (1, True)]
    status, again = await corp.confirm(msgid, "zhangsan")
    assert (status, again["error"]["code"]) == (409, "already_sent")
    assert len(await entries(corp.client, "mass_message")) == 2


async def test_task_goes_to_each_customers_longest_standing_rep_when_sender_is_omitted(corp: Corp) -> None:
    created = await corp.create("小鹿乱撞🦌", "王姐(宝妈)", "大刘", "糖糖🍬")
    # 糖糖 has no rep at all; the others go to their earliest relationship (a stand-in for "last chatted").
    assert created["fail_list"] == [corp.customer("糖糖🍬")]
    task_list = (await corp.call("get_groupmsg_task", msgid=created["msgid"]))["task_list"]
    assert [item["userid"] for item in task_list] == ["zhangsan", "lisi", "wangwu"]
    lisi = await corp.results(created["msgid"], "lisi")
    assert [r["external_userid"] for r in lisi] == [corp.customer("王姐(宝妈)")]


async def test_task_without_ids_reaches_every_customer_of_the_sender_that_matches_the_tags(corp: Corp) -> None:
    tags = {t["name"]: t["tag_id"] for g in (await state(corp.client))["tag_groups"] for t in g["tags"]}
    everyone = await corp.call("add_msg_template", sender="lisi", text={"content": "会员日"})
    lisi = {r["external_userid"] for r in await corp.results(everyone["msgid"], "lisi")}
    assert lisi == {corp.customer(name) for name in ("小鹿乱撞🦌", "阿杰", "王姐(宝妈)", "奔跑的蜗牛🐌")}
    # Tags are lisi's own on each relationship: VIP or 普通, and also 朋友推荐.
    tag_filter = {"group_list": [{"tag_list": [tags["VIP"], tags["普通"]]}, {"tag_list": [tags["朋友推荐"]]}]}
    picked = await corp.call("add_msg_template", sender="lisi", text={"content": "老客福利"}, tag_filter=tag_filter)
    assert [r["external_userid"] for r in await corp.results(picked["msgid"], "lisi")] == [corp.customer("阿杰")]


async def test_group_task_reaches_the_senders_groups_and_lists_only_sent_ones(corp: Corp) -> None:
    camp, vip = corp.group("2026秋季训练营1群"), corp.group("会员福利群")
    created = await corp.call(
        "add_msg_template", chat_type="group", sender="zhangsan", chat_id_list=[camp, vip], text={"content": "开营"}
    )
    # 会员福利群 belongs to lisi.
    assert created["fail_list"] == [vip]
    msgid = created["msgid"]
    # "若为客户群群发…只返回已发送记录": nothing is listed until the owner sends.
    assert await corp.results(msgid, "zhangsan") == []
    await corp.confirm(msgid, "zhangsan")
    assert await corp.results(msgid, "zhangsan") == [
        {"chat_id": camp, "userid": "zhangsan", "status": 1, "send_time": (await limits(corp.client))["now"]}
    ]
    [delivered] = await entries(corp.client, "mass_message")
    assert (delivered["chat_type"], delivered["chat_id"], delivered["external_userid"]) == ("group", camp, "")


async def test_group_task_without_chat_ids_reaches_every_group_the_sender_owns(corp: Corp) -> None:
    created = await corp.call("add_msg_template", chat_type="group", sender="zhangsan", text={"content": "通知"})
    await corp.confirm(created["msgid"], "zhangsan")
    sent = {d["chat_id"] for d in await entries(corp.client, "mass_message")}
    assert sent == {corp.group("2026秋季训练营1群"), corp.group("新品体验官")}


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"chat_type": "group", "text": {"content": "x"}}, 40058),
        ({"chat_type": "broadcast", "sender": "zhangsan", "text": {"content": "x"}}, 86214),
        ({"text": {"content": "x"}}, 40058),
        ({"sender": "zhangsan"}, 40058),
        ({"sender": "nobody", "text": {"content": "x"}}, 40003),
        ({"sender": "zhangsan", "text": {"content": "字" * 1334}}, 40058),
        ({"sender": "zhangsan", "attachments": [{"msgtype": "image", "image": {"media_id": "m"}}] * 10}, 41064),
        ({"sender": "zhangsan", "attachments": [{"msgtype": "voice", "voice": {"media_id": "m"}}]}, 41065),
        ({"sender": "zhangsan", "attachments": [{"msgtype": "link", "link": {"title": "t"}}]}, 40058),
        ({"sender": "zhangsan", "external_userid": ["wm1"] * 10_001, "text": {"content": "x"}}, 40058),
    ],
)
async def test_add_msg_template_is_refused_when_the_request_breaks_a_limit(
    corp: Corp, body: dict[str, Any], errcode: int
) -> None:
    assert (await corp.call("add_msg_template", **body))["errcode"] == errcode
    assert await entries(corp.client, "mass_task") == []


async def test_add_msg_template_answers_41048_when_nobody_can_receive(corp: Corp) -> None:
    assert (await corp.create("糖糖🍬"))["errcode"] == 41048
    assert (await corp.create("Lemon柠檬", sender="lisi"))["errcode"] == 41048
    text_and_picture = {
        "text": {"content": ""},
        "attachments": [{"msgtype": "image", "image": {"pic_url": "https://p"}}],
    }
    assert (await corp.create("Lemon柠檬", sender="zhangsan", **text_and_picture))["errcode"] == 0


async def test_customer_receives_at_most_days_in_month_then_is_skipped_until_next_month(corp: Corp) -> None:
    deer, lemon = corp.customer("小鹿乱撞🦌"), corp.customer("Lemon柠檬")
    for _ in range(30):
        created = await corp.create("小鹿乱撞🦌", sender="zhangsan")
        await corp.confirm(created["msgid"], "zhangsan")
    # April has 30 days: the 31st message of the month is skipped for 小鹿, not for Lemon.
    last = await corp.create("小鹿乱撞🦌", "Lemon柠檬", sender="zhangsan")
    await corp.confirm(last["msgid"], "zhangsan")
    results = {r["external_userid"]: r["status"] for r in await corp.results(last["msgid"], "zhangsan")}
    assert results == {deer: 3, lemon: 1}
    [skipped] = await entries(corp.client, "mass_message_skipped")
    assert (skipped["external_userid"], skipped["reason"]) == (deer, "over_limit")
    assert len([d for d in await entries(corp.client, "mass_message") if d["external_userid"] == deer]) == 30
    mass = (await limits(corp.client))["mass"]
    assert (mass["month"], mass["cap"], mass["received"][deer]) == ("2026-04", 30, 30)
    await advance(corp.client, 30 * 86_400)
    corp.access_token = await token(corp.client)
    may = await corp.create("小鹿乱撞🦌", sender="zhangsan")
    await corp.confirm(may["msgid"], "zhangsan")
    assert [r["status"] for r in await corp.results(may["msgid"], "zhangsan")] == [1]


async def test_customer_is_skipped_after_four_when_the_corp_has_the_older_cap(
    aiohttp_client: AiohttpClient, receiver: Receiver
) -> None:
    corp = await _corp(aiohttp_client, receiver, mass_cap=4)
    statuses = []
    for _ in range(5):
        created = await corp.create("Kevin", sender="zhaoliu")
        await corp.confirm(created["msgid"], "zhaoliu")
        statuses.append((await corp.results(created["msgid"], "zhaoliu"))[0]["status"])
    assert statuses == [1, 1, 1, 1, 3]


async def test_customer_is_not_a_friend_when_the_rep_deleted_them_before_confirming(corp: Corp) -> None:
    created = await corp.create("小鹿乱撞🦌", "Lemon柠檬", sender="zhangsan")
    await act(corp.client, "delete-customer", member="zhangsan", customer=corp.customer("Lemon柠檬"))
    await corp.confirm(created["msgid"], "zhangsan")
    statuses = [r["status"] for r in await corp.results(created["msgid"], "zhangsan")]
    assert statuses == [1, 2]
    [skipped] = await entries(corp.client, "mass_message_skipped")
    assert skipped["reason"] == "not_a_friend"


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
    corp = await _corp(aiohttp_client, receiver, task_dispatch_s=2.0)
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
    corp = await _corp(aiohttp_client, receiver, task_auto_confirm_s=300.0)
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
