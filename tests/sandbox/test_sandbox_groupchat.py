"""externalcontact/groupchat/list paging and limits; groupchat/get shape and member_version."""

from __future__ import annotations

from typing import Any

from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import Client, act, customer_named, group_named, post_json, settle, state, token


async def _list(sandbox: Client, body: Any) -> dict[str, Any]:
    status, data = await post_json(
        sandbox, "/cgi-bin/externalcontact/groupchat/list", body, access_token=await token(sandbox)
    )
    assert status == 200
    return data


async def _get(sandbox: Client, chat_id: str, need_name: int = 1) -> dict[str, Any]:
    body = {"chat_id": chat_id, "need_name": need_name}
    status, data = await post_json(
        sandbox, "/cgi-bin/externalcontact/groupchat/get", body, access_token=await token(sandbox)
    )
    assert status == 200
    return data


async def test_list_pages_through_every_group_when_limit_is_one(sandbox: Client) -> None:
    seen: list[str] = []
    cursor = ""
    for _ in range(5):
        data = await _list(sandbox, {"status_filter": 0, "cursor": cursor, "limit": 1})
        assert data["errcode"] == 0
        seen += [g["chat_id"] for g in data["group_chat_list"]]
        assert all(g["status"] == 0 for g in data["group_chat_list"])
        cursor = data["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 3
    assert all(chat_id.startswith("wr") for chat_id in seen)


async def test_list_keeps_its_place_when_a_group_is_created_between_pages(sandbox: Client) -> None:
    first = await _list(sandbox, {"limit": 2})
    await act(sandbox, "create-group", owner="wangwu", name="售后服务群")
    second = await _list(sandbox, {"limit": 2, "cursor": first["next_cursor"]})
    names = {g["chat_id"] for g in first["group_chat_list"]} | {g["chat_id"] for g in second["group_chat_list"]}
    assert len(names) == 4
    assert second["next_cursor"] == ""


async def test_list_answers_40058_when_limit_is_out_of_range(sandbox: Client) -> None:
    for limit in (0, 1001, "ten"):
        assert (await _list(sandbox, {"limit": limit}))["errcode"] == 40058
    assert (await _list(sandbox, {}))["errcode"] == 40058
    assert (await _list(sandbox, {"limit": 1000}))["errcode"] == 0


async def test_list_answers_40058_when_owner_filter_has_more_than_100_ids(sandbox: Client) -> None:
    too_many = {"limit": 10, "owner_filter": {"userid_list": [f"u{i}" for i in range(101)]}}
    assert (await _list(sandbox, too_many))["errcode"] == 40058
    hundred = {"limit": 10, "owner_filter": {"userid_list": [f"u{i}" for i in range(100)]}}
    assert (await _list(sandbox, hundred))["errcode"] == 0


async def test_list_filters_by_owner_when_owner_filter_is_given(sandbox: Client) -> None:
    data = await _list(sandbox, {"limit": 100, "owner_filter": {"userid_list": ["lisi"]}})
    listed = [g["chat_id"] for g in data["group_chat_list"]]
    assert listed == [group_named(await state(sandbox), "会员福利群")["chat_id"]]


async def test_list_answers_50100_when_cursor_was_never_issued(sandbox: Client) -> None:
    assert (await _list(sandbox, {"limit": 10, "cursor": "garbage!!"}))["errcode"] == 50100


async def test_api_answers_40058_with_wrong_json_format_when_body_is_malformed(sandbox: Client) -> None:
    async with sandbox.post(
        "/cgi-bin/externalcontact/groupchat/list",
        params={"access_token": await token(sandbox)},
        data=b'{"limit": 10,',
    ) as response:
        assert response.status == 200
        data = await response.json()
    assert data["errcode"] == 40058
    assert data["errmsg"].startswith("Warning: wrong json format.")


async def test_get_returns_members_with_scenes_when_group_exists(sandbox: Client) -> None:
    world = await state(sandbox)
    camp = group_named(world, "2026秋季训练营1群")
    data = await _get(sandbox, camp["chat_id"])
    chat = data["group_chat"]
    assert (chat["name"], chat["owner"]) == ("2026秋季训练营1群", "zhangsan")
    assert chat["admin_list"] == [{"userid": "zhaoliu"}]
    members = {m["userid"]: m for m in chat["member_list"]}
    assert members["zhangsan"]["type"] == 1 and members["zhangsan"]["name"] == "张三"
    deer = members[customer_named(world, "小鹿乱撞🦌")["external_userid"]]
    assert deer["type"] == 2 and deer["name"] == "小鹿乱撞🦌" and deer["unionid"]
    for member in chat["member_list"]:
        assert member["join_scene"] in (1, 2, 3)
        assert ("invitor" in member) == (member["join_scene"] != 3 and member["type"] == 2)
    assert isinstance(chat["member_version"], str) and len(chat["member_version"]) == 32


async def test_get_omits_names_when_need_name_is_zero(sandbox: Client) -> None:
    camp = group_named(await state(sandbox), "新品体验官")
    chat = (await _get(sandbox, camp["chat_id"], need_name=0))["group_chat"]
    assert all("name" not in m for m in chat["member_list"])


async def test_get_answers_90501_when_chat_is_unknown_or_dismissed(sandbox: Client) -> None:
    assert (await _get(sandbox, "wrNOTAGROUP"))["errcode"] == 90501
    camp = group_named(await state(sandbox), "新品体验官")
    await act(sandbox, "dismiss-group", group=camp["chat_id"])
    assert (await _get(sandbox, camp["chat_id"]))["errcode"] == 90501


async def test_member_version_matches_callback_versions_when_membership_changes(
    sandbox: Client, receiver: Receiver
) -> None:
    world = await state(sandbox)
    camp = group_named(world, "会员福利群")
    candy = customer_named(world, "糖糖🍬")["external_userid"]
    before = (await _get(sandbox, camp["chat_id"]))["group_chat"]["member_version"]
    await act(sandbox, "join-group", customer=candy, group=camp["chat_id"], scene="link")
    after_join = (await _get(sandbox, camp["chat_id"]))["group_chat"]
    await act(sandbox, "leave-group", customer=candy, group=camp["chat_id"])
    after_leave = (await _get(sandbox, camp["chat_id"]))["group_chat"]["member_version"]
    await act(sandbox, "rename-group", group=camp["chat_id"], name="会员福利群（2026）")
    after_rename = (await _get(sandbox, camp["chat_id"]))["group_chat"]["member_version"]
    await settle(sandbox)
    joined = receiver.events("update")[0]
    left = receiver.events("update")[1]
    assert len({before, after_join["member_version"], after_leave}) == 3
    assert (joined["LastMemVer"], joined["CurMemVer"]) == (before, after_join["member_version"])
    assert (left["LastMemVer"], left["CurMemVer"]) == (after_join["member_version"], after_leave)
    assert after_rename == after_leave  # a rename is not a membership change
    entry = next(m for m in after_join["member_list"] if m["userid"] == candy)
    assert (entry["join_scene"], entry["invitor"]) == (2, {"userid": "lisi"})
