"""企业群发: tasks wait for the member, the monthly cap, get_groupmsg_* results and paging, remind, cancel."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from tests.sandbox.mass_task_support import Corp, make_corp
from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import act, state, token
from tests.sandbox.send_api import advance, entries, limits


@pytest.fixture
async def corp(aiohttp_client: AiohttpClient, receiver: Receiver) -> Corp:
    return await make_corp(aiohttp_client, receiver)


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
    corp = await make_corp(aiohttp_client, receiver, mass_cap=4)
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
