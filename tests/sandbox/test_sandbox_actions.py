"""Each simulated client action changes state and pushes its signed, encrypted 客户联系 callback."""

from __future__ import annotations

from typing import Any

from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import (
    DEMO,
    Client,
    act,
    customer_named,
    get_json,
    group_named,
    post_json,
    settle,
    state,
    token,
)


async def _only_event(sandbox: Client, receiver: Receiver) -> dict[str, Any]:
    await settle(sandbox)
    assert len(receiver.delivered) == 1, [d.event for d in receiver.delivered]
    return receiver.delivered[0].event


def _items(event: dict[str, Any]) -> list[str]:
    items = event["MemChangeList"]["Item"]
    return items if isinstance(items, list) else [items]


async def test_add_contact_pushes_add_external_contact_when_customer_adds_rep(
    sandbox: Client, receiver: Receiver
) -> None:
    candy = customer_named(await state(sandbox), "糖糖🍬")["external_userid"]
    result = await act(sandbox, "add-contact", customer=candy, member="wangwu", state="ad_spring")
    assert result["delivery_ids"] and [f["userid"] for f in result["customer"]["follows"]] == ["wangwu"]
    event = await _only_event(sandbox, receiver)
    assert (event["ToUserName"], event["FromUserName"], event["MsgType"]) == (DEMO.corp_id, "sys", "event")
    assert (event["Event"], event["ChangeType"]) == ("change_external_contact", "add_external_contact")
    assert (event["UserID"], event["ExternalUserID"], event["State"]) == ("wangwu", candy, "ad_spring")
    assert event["WelcomeCode"]
    assert int(event["CreateTime"]) > 0
    delivered = receiver.delivered[0]
    assert delivered.envelope["ToUserName"] == DEMO.corp_id
    # Customer-contact callbacks are not app callbacks: no AgentID in the envelope (WECOM.md §1.5).
    assert "AgentID" not in delivered.envelope
    assert set(delivered.query) == {"msg_signature", "timestamp", "nonce"}


async def test_add_contact_omits_state_when_none_is_given(sandbox: Client, receiver: Receiver) -> None:
    sunny = customer_named(await state(sandbox), "晴天☀️")["external_userid"]
    await act(sandbox, "add-contact", customer=sunny, member="lisi")
    assert "State" not in await _only_event(sandbox, receiver)


async def test_add_contact_is_refused_when_rep_already_has_customer(sandbox: Client, receiver: Receiver) -> None:
    lemon = customer_named(await state(sandbox), "Lemon柠檬")["external_userid"]
    status, data = await post_json(sandbox, "/sandbox/act/add-contact", {"customer": lemon, "member": "zhangsan"})
    assert status == 409
    assert data["ok"] is False and data["error"]["code"] == "already_contact"
    assert "已经添加" in data["error"]["message"] and "already has" in data["error"]["message"]
    await settle(sandbox)
    assert receiver.delivered == []


async def test_edit_contact_pushes_edit_event_when_remark_or_tags_change(sandbox: Client, receiver: Receiver) -> None:
    jie = customer_named(await state(sandbox), "阿杰")["external_userid"]
    result = await act(
        sandbox, "edit-contact", member="lisi", customer=jie, remark="阿杰 超级VIP", tags=["VIP", "高意向"]
    )
    follow = result["customer"]["follows"][0]
    assert follow["remark"] == "阿杰 超级VIP"
    assert [t["tag_name"] for t in follow["tags"]] == ["VIP", "高意向"]
    event = await _only_event(sandbox, receiver)
    assert (event["ChangeType"], event["UserID"], event["ExternalUserID"]) == ("edit_external_contact", "lisi", jie)


async def test_edit_contact_pushes_nothing_when_only_remark_mobiles_change(sandbox: Client, receiver: Receiver) -> None:
    jie = customer_named(await state(sandbox), "阿杰")["external_userid"]
    result = await act(sandbox, "edit-contact", member="lisi", customer=jie, remark_mobiles=["13800000000"])
    assert result["delivery_ids"] == []
    await settle(sandbox)
    assert receiver.delivered == []


async def test_delete_customer_pushes_del_external_contact_when_rep_deletes(
    sandbox: Client, receiver: Receiver
) -> None:
    liu = customer_named(await state(sandbox), "大刘")["external_userid"]
    await act(sandbox, "delete-customer", member="wangwu", customer=liu)
    event = await _only_event(sandbox, receiver)
    assert (event["ChangeType"], event["UserID"], event["ExternalUserID"]) == ("del_external_contact", "wangwu", liu)


async def test_delete_rep_pushes_del_follow_user_when_customer_deletes(sandbox: Client, receiver: Receiver) -> None:
    kevin = customer_named(await state(sandbox), "Kevin")["external_userid"]
    result = await act(sandbox, "delete-rep", customer=kevin, member="zhaoliu")
    assert result["customer"]["follows"] == []
    event = await _only_event(sandbox, receiver)
    assert (event["ChangeType"], event["UserID"], event["ExternalUserID"]) == ("del_follow_user", "zhaoliu", kevin)


async def test_join_group_pushes_add_member_with_scene_3_when_customer_scans_qr(
    sandbox: Client, receiver: Receiver
) -> None:
    world = await state(sandbox)
    camp = group_named(world, "2026秋季训练营1群")
    candy = customer_named(world, "糖糖🍬")["external_userid"]
    result = await act(sandbox, "join-group", customer=candy, group=camp["chat_id"], scene="qr")
    assert candy in {m["userid"] for m in result["group"]["member_list"]}
    event = await _only_event(sandbox, receiver)
    assert (event["Event"], event["ChangeType"], event["UpdateDetail"]) == (
        "change_external_chat",
        "update",
        "add_member",
    )
    assert (event["ChatId"], event["JoinScene"], event["MemChangeCnt"]) == (camp["chat_id"], "3", "1")
    assert _items(event) == [candy]
    assert "QuitScene" not in event
    assert event["CurMemVer"] == result["group"]["member_version"]


async def test_join_group_pushes_scene_0_when_member_invites(sandbox: Client, receiver: Receiver) -> None:
    world = await state(sandbox)
    camp = group_named(world, "2026秋季训练营1群")
    zhou = customer_named(world, "老周")["external_userid"]
    result = await act(sandbox, "join-group", customer=zhou, group=camp["chat_id"], scene="invite", invitor="zhaoliu")
    entry = next(m for m in result["group"]["member_list"] if m["userid"] == zhou)
    assert (entry["join_scene"], entry["invitor"]) == (1, {"userid": "zhaoliu"})
    assert (await _only_event(sandbox, receiver))["JoinScene"] == "0"


async def test_leave_group_pushes_quit_scene_1_when_customer_is_removed(sandbox: Client, receiver: Receiver) -> None:
    world = await state(sandbox)
    camp = group_named(world, "会员福利群")
    jie = customer_named(world, "阿杰")["external_userid"]
    await act(sandbox, "leave-group", customer=jie, group=camp["chat_id"], removed=True)
    event = await _only_event(sandbox, receiver)
    assert (event["UpdateDetail"], event["QuitScene"], _items(event)) == ("del_member", "1", [jie])
    assert "JoinScene" not in event


async def test_leave_group_pushes_quit_scene_0_when_customer_leaves(sandbox: Client, receiver: Receiver) -> None:
    world = await state(sandbox)
    camp = group_named(world, "会员福利群")
    jie = customer_named(world, "阿杰")["external_userid"]
    await act(sandbox, "leave-group", customer=jie, group=camp["chat_id"])
    assert (await _only_event(sandbox, receiver))["QuitScene"] == "0"


async def test_group_lifecycle_pushes_create_rename_dismiss_when_rep_manages_group(
    sandbox: Client, receiver: Receiver
) -> None:
    created = await act(sandbox, "create-group", owner="wangwu", name="售后服务群", members=["zhaoliu"])
    chat_id = created["group"]["chat_id"]
    assert chat_id.startswith("wr")
    await act(sandbox, "rename-group", group=chat_id, name="售后服务1群")
    await act(sandbox, "dismiss-group", group=chat_id)
    await settle(sandbox)
    events = [(d.event["ChangeType"], d.event.get("UpdateDetail"), d.event["ChatId"]) for d in receiver.delivered]
    assert events == [("create", None, chat_id), ("update", "change_name", chat_id), ("dismiss", None, chat_id)]
    assert all(chat_id != g["chat_id"] for g in (await state(sandbox))["groups"])


async def test_new_customer_pushes_nothing_when_a_wechat_user_appears(sandbox: Client, receiver: Receiver) -> None:
    result = await act(sandbox, "new-customer", name="<b>小明</b>🐯", gender=1)
    created = result["customer"]
    assert created["external_userid"].startswith("wm") and created["follows"] == []
    assert result["delivery_ids"] == []
    contact = await get_json(
        sandbox,
        "/cgi-bin/externalcontact/get",
        access_token=await token(sandbox),
        external_userid=created["external_userid"],
    )
    assert contact["errcode"] == 84061
    await act(sandbox, "add-contact", customer=created["external_userid"], member="zhangsan")
    assert (await _only_event(sandbox, receiver))["ExternalUserID"] == created["external_userid"]


async def test_state_changes_before_callback_arrives_when_event_is_held_back(
    make_sandbox: Any, receiver: Receiver
) -> None:
    sandbox = await make_sandbox(late_rate=1.0, late_max_s=0.6)
    world = await state(sandbox)
    camp = group_named(world, "新品体验官")
    candy = customer_named(world, "糖糖🍬")["external_userid"]
    await act(sandbox, "join-group", customer=candy, group=camp["chat_id"], scene="qr")
    # groupchat/get already shows the new member while the callback is still on its way.
    after = await state(sandbox)
    assert candy in {m["userid"] for m in group_named(after, "新品体验官")["member_list"]}
    assert receiver.delivered == []
    await settle(sandbox)
    assert len(receiver.delivered) == 1


async def test_act_answers_404_in_both_languages_when_ids_are_unknown(sandbox: Client) -> None:
    status, data = await post_json(sandbox, "/sandbox/act/join-group", {"customer": "wmNOPE", "group": "wrNOPE"})
    assert status == 404
    assert data["error"]["message"] == "未找到客户 wmNOPE / unknown customer wmNOPE"
    status, data = await post_json(sandbox, "/sandbox/act/fly-away", {})
    assert (status, data["error"]["code"]) == (404, "unknown_action")


async def test_act_answers_400_when_body_is_bad(sandbox: Client) -> None:
    async with sandbox.post("/sandbox/act/add-contact", data=b"{oops") as response:
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "bad_json"
    status, data = await post_json(sandbox, "/sandbox/act/add-contact", {"member": "zhangsan"})
    assert (status, data["error"]["code"]) == (400, "missing_field")
    status, data = await post_json(
        sandbox, "/sandbox/act/leave-group", {"customer": "x", "group": "y", "removed": "yes"}
    )
    assert (status, data["error"]["code"]) == (400, "bad_field")
