"""Where the sandbox used to be kinder than WeCom: group reads that lag, exact timeouts, case-insensitive userids,
WeCom-style answers for unknown paths, and the tag and welcome-message APIs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pytest_aiohttp import AiohttpClient

from sandbox.app import create_app
from sandbox.clock import FixedClock
from sandbox.config import SandboxConfig
from tests.sandbox.conftest import SandboxFactory
from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import (
    FAST,
    Client,
    act,
    customer_named,
    get_json,
    group_named,
    log,
    post_json,
    settle,
    state,
    token,
)


async def _api(client: Client, path: str, body: Any | None = None, **query: str) -> dict[str, Any]:
    params = {"access_token": await token(client), **query}
    if body is None:
        return await get_json(client, f"/cgi-bin/{path}", **params)
    status, data = await post_json(client, f"/cgi-bin/{path}", body, **params)
    assert status == 200, data
    return data


async def _members_of(client: Client, chat_id: str) -> tuple[set[str], str]:
    chat = (await _api(client, "externalcontact/groupchat/get", {"chat_id": chat_id}))["group_chat"]
    return {m["userid"] for m in chat["member_list"]}, chat["member_version"]


async def test_groupchat_get_answers_the_previous_members_when_read_within_the_lag(
    receiver: Receiver, aiohttp_client: AiohttpClient
) -> None:
    config = SandboxConfig(**{**FAST, "callback_url": receiver.url, "groupchat_lag_s": 2.0})
    sandbox = await aiohttp_client(create_app(config, FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))))
    data = await state(sandbox)
    camp, candy = group_named(data, "2026秋季训练营1群")["chat_id"], customer_named(data, "糖糖🍬")["external_userid"]
    before, old_version = await _members_of(sandbox, camp)
    await act(sandbox, "join-group", customer=candy, group=camp)
    await settle(sandbox)
    [event] = receiver.events("update")
    # Right after the event the read still shows the old list; its version is not the event's CurMemVer.
    assert await _members_of(sandbox, camp) == (before, old_version)
    assert event["CurMemVer"] != old_version
    await post_json(sandbox, "/sandbox/clock/advance", {"seconds": 2})
    after, version = await _members_of(sandbox, camp)
    assert after == before | {candy} and version == event["CurMemVer"]


async def test_groupchat_get_is_current_at_once_when_the_lag_is_zero(sandbox: Client) -> None:
    data = await state(sandbox)
    camp, candy = group_named(data, "2026秋季训练营1群")["chat_id"], customer_named(data, "糖糖🍬")["external_userid"]
    await act(sandbox, "join-group", customer=candy, group=camp)
    assert candy in (await _members_of(sandbox, camp))[0]


async def test_callback_times_out_at_exactly_five_seconds_when_the_bot_answers_later(
    make_sandbox: SandboxFactory, receiver: Receiver
) -> None:
    # aiohttp rounds a 5 s total timeout up to 6 s; an answer after 5.4 s must still count as a timeout.
    receiver.script, receiver.slow_s = ["slow"], 5.4
    sandbox = await make_sandbox(callback_timeout_s=5.0, retries=0)
    data = await state(sandbox)
    await act(sandbox, "add-contact", customer=customer_named(data, "糖糖🍬")["external_userid"], member="lisi")
    await settle(sandbox, within_s=15)
    outcomes = [e["outcome"] for e in await log(sandbox) if e["kind"] == "callback"]
    assert outcomes[0] == "timeout"


async def test_user_get_finds_a_member_when_the_userid_case_differs(sandbox: Client) -> None:
    found = await _api(sandbox, "user/get", userid="ZhangSan")
    assert (found["errcode"], found["userid"]) == (0, "zhangsan")
    assert (await _api(sandbox, "user/get", userid="nobody"))["errcode"] == 60111


async def test_unknown_api_path_answers_wecom_json_when_called(sandbox: Client) -> None:
    async with sandbox.get("/cgi-bin/externalcontact/no_such_api", params={"access_token": await token(sandbox)}) as r:
        assert r.status == 200 and r.content_type == "application/json"
        assert (await r.json())["errcode"] == 48001
    async with sandbox.get("/cgi-bin/kf/sync_msg", params={"access_token": await token(sandbox)}) as r:
        assert (await r.json())["errcode"] == 43002
    # Without a token the token gate answers first, as for any other API.
    async with sandbox.get("/cgi-bin/externalcontact/no_such_api") as r:
        assert (await r.json())["errcode"] == 41001


async def test_follow_user_list_names_every_active_member_when_asked(sandbox: Client) -> None:
    data = await _api(sandbox, "externalcontact/get_follow_user_list")
    assert data["follow_user"] == ["zhangsan", "lisi", "wangwu", "zhaoliu"]


async def test_corp_tag_list_filters_by_tag_or_group_when_asked(sandbox: Client) -> None:
    everything = (await _api(sandbox, "externalcontact/get_corp_tag_list", {}))["tag_group"]
    assert [g["group_name"] for g in everything] == ["客户等级", "客户来源", "购买意向"]
    level = everything[0]
    assert {"group_id", "create_time", "order", "deleted", "tag"} <= set(level)
    assert [t["name"] for t in level["tag"]] == ["VIP", "普通"]
    vip = level["tag"][0]["id"]
    only_vip = (await _api(sandbox, "externalcontact/get_corp_tag_list", {"tag_id": [vip]}))["tag_group"]
    assert [[t["id"] for t in g["tag"]] for g in only_vip] == [[vip]]
    body = {"tag_id": [vip], "group_id": [everything[1]["group_id"]]}
    by_group = (await _api(sandbox, "externalcontact/get_corp_tag_list", body))["tag_group"]
    assert [g["group_name"] for g in by_group] == ["客户来源"]


async def test_mark_tag_changes_the_tags_and_pushes_no_callback_when_called_through_the_api(
    sandbox: Client, receiver: Receiver
) -> None:
    data = await state(sandbox)
    lemon = customer_named(data, "Lemon柠檬")["external_userid"]
    tags = {t["name"]: t["tag_id"] for g in data["tag_groups"] for t in g["tags"]}
    body = {"userid": "zhangsan", "external_userid": lemon, "add_tag": [tags["VIP"]], "remove_tag": [tags["普通"]]}
    assert (await _api(sandbox, "externalcontact/mark_tag", body))["errcode"] == 0
    follow = customer_named(await state(sandbox), "Lemon柠檬")["follows"][0]
    assert [t["tag_name"] for t in follow["tags"]] == ["VIP"]
    # WECOM.md §2b: "通过API进行的操作不会产生回调" — the caller records its own change.
    assert (await _api(sandbox, "externalcontact/mark_tag", body))["errcode"] == 0
    await settle(sandbox)
    assert receiver.events("edit_external_contact") == []


async def test_mark_tag_is_refused_when_the_request_is_wrong(sandbox: Client) -> None:
    data = await state(sandbox)
    lemon = customer_named(data, "Lemon柠檬")["external_userid"]
    vip = next(t["tag_id"] for g in data["tag_groups"] for t in g["tags"] if t["name"] == "VIP")
    cases = [
        ({"external_userid": lemon, "add_tag": [vip]}, 41009),
        ({"userid": "ghost", "external_userid": lemon, "add_tag": [vip]}, 40003),
        ({"userid": "zhangsan", "add_tag": [vip]}, 41035),
        ({"userid": "zhangsan", "external_userid": "wmNope", "add_tag": [vip]}, 40096),
        ({"userid": "lisi", "external_userid": lemon, "add_tag": [vip]}, 84061),
        ({"userid": "zhangsan", "external_userid": lemon}, 40058),
        ({"userid": "zhangsan", "external_userid": lemon, "add_tag": ["etNoSuchTag"]}, 40068),
    ]
    for body, code in cases:
        assert (await _api(sandbox, "externalcontact/mark_tag", body))["errcode"] == code, body


async def test_add_external_contact_carries_state_and_a_welcome_code_when_a_channel_brought_the_customer(
    sandbox: Client, receiver: Receiver
) -> None:
    candy = customer_named(await state(sandbox), "糖糖🍬")["external_userid"]
    await act(sandbox, "add-contact", customer=candy, member="lisi", state="qr_store_02")
    await settle(sandbox)
    [event] = receiver.events("add_external_contact")
    assert event["State"] == "qr_store_02" and event["WelcomeCode"]


async def test_send_welcome_msg_works_once_when_the_code_is_fresh(
    receiver: Receiver, aiohttp_client: AiohttpClient
) -> None:
    config = SandboxConfig(**{**FAST, "callback_url": receiver.url})
    sandbox = await aiohttp_client(create_app(config, FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))))
    candy = customer_named(await state(sandbox), "糖糖🍬")["external_userid"]
    codes = []
    for member in ("lisi", "wangwu"):
        await act(sandbox, "add-contact", customer=candy, member=member)
        await settle(sandbox)
        codes.append(receiver.events("add_external_contact")[-1]["WelcomeCode"])
    welcome = {"welcome_code": codes[0], "text": {"content": "欢迎！"}}
    assert (await _api(sandbox, "externalcontact/send_welcome_msg", welcome))["errcode"] == 0
    assert (await _api(sandbox, "externalcontact/send_welcome_msg", welcome))["errcode"] == 40058
    [sent] = [e for e in await log(sandbox) if e["kind"] == "welcome_message"]
    assert (sent["userid"], sent["external_userid"], sent["content"]) == ("lisi", candy, "欢迎！")
    await post_json(sandbox, "/sandbox/clock/advance", {"seconds": 20})
    late = {"welcome_code": codes[1], "text": {"content": "欢迎！"}}
    assert (await _api(sandbox, "externalcontact/send_welcome_msg", late))["errcode"] == 40058
    assert (await _api(sandbox, "externalcontact/send_welcome_msg", {"text": {"content": "x"}}))["errcode"] == 41049
