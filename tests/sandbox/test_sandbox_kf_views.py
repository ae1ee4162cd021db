"""kf callbacks on the wire, customer/batchget, the admin views (/sandbox/state, /sandbox/kf/chats) and the CLI."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from typer.testing import CliRunner

from sandbox.cli.main import app as cli_app
from sandbox.events import cdata
from tests.sandbox.kf_api import (
    AFTER_SALES,
    DAY,
    advance,
    chats,
    customer,
    kf_token,
    kfid,
    menu,
    qyapi,
    say,
    send_text,
    sync,
    trans,
)
from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import DEMO, Client, act, log, settle, state


async def test_callback_decrypts_to_the_exact_kf_xml_when_a_customer_writes(
    sandbox: Client, receiver: Receiver
) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    result = await say(sandbox, deer, "你好")
    assert len(result["delivery_ids"]) == 1
    await settle(sandbox)
    [delivered] = receiver.delivered
    event = delivered.event
    expected = (
        f"<xml><ToUserName>{cdata(DEMO.corp_id)}</ToUserName><CreateTime>{event['CreateTime']}</CreateTime>"
        f"<MsgType>{cdata('event')}</MsgType><Event>{cdata('kf_msg_or_event')}</Event>"
        f"<Token>{cdata(event['Token'])}</Token><OpenKfId>{cdata(open_kfid)}</OpenKfId></xml>"
    )
    assert delivered.plaintext == expected
    assert event["Token"].startswith("ENC") and len(event["Token"].encode()) <= 128
    assert delivered.envelope["ToUserName"] == DEMO.corp_id
    # The token in the callback opens sync_msg for that account.
    page = await sync(sandbox, token=event["Token"], open_kfid=open_kfid)
    assert [item["msgid"] for item in page["msg_list"]] == [result["msgid"]]
    [attempt] = [entry for entry in await log(sandbox) if entry["kind"] == "callback"]
    assert (attempt["event"], attempt["change_type"], attempt["outcome"]) == ("kf_msg_or_event", "", "ok")


async def test_kf_callbacks_are_never_held_back_when_late_rate_is_one(make_sandbox: Any, receiver: Receiver) -> None:
    sandbox = await make_sandbox(late_rate=1.0, late_max_s=2.0)
    deer = await customer(sandbox, "小鹿乱撞🦌")
    for n in range(3):
        await say(sandbox, deer, f"消息{n}")
    await settle(sandbox)
    assert [e["delayed_s"] for e in await log(sandbox)] == [0.0, 0.0, 0.0]
    tokens = [d.event["Token"] for d in receiver.delivered]
    assert len(set(tokens)) == 3


async def test_no_callback_is_pushed_when_the_api_itself_sends(sandbox: Client, receiver: Receiver) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "你好")
    await settle(sandbox)
    await send_text(sandbox, open_kfid, deer, "您好")
    await settle(sandbox)
    assert len(receiver.delivered) == 1


async def test_batchget_names_only_customers_who_used_kf_in_the_last_48_hours(fixed_sandbox: Client) -> None:
    sandbox = fixed_sandbox
    deer, jie = await customer(sandbox, "小鹿乱撞🦌"), await customer(sandbox, "阿杰")
    stranger = await act(sandbox, "kf-enter", customer="new", name="新朋友", unionid="oNewUnion123", scene="qr1")
    new_id = stranger["external_userid"]
    await say(sandbox, deer, "你好")
    body = {"external_userid_list": [deer, jie, new_id, "wmUnknown"], "need_enter_session_context": 1}
    data = await qyapi(sandbox, "customer/batchget", body)
    by_id = {c["external_userid"]: c for c in data["customer_list"]}
    assert set(by_id) == {deer, new_id}
    assert by_id[new_id] == {
        "external_userid": new_id,
        "nickname": "新朋友",
        "avatar": by_id[new_id]["avatar"],
        "gender": 0,
        "unionid": "oNewUnion123",
        "enter_session_context": {"scene": "qr1"},
    }
    assert by_id[deer]["nickname"] == "小鹿乱撞🦌" and by_id[deer]["enter_session_context"] == {}
    assert data["invalid_external_userid"] == [jie, "wmUnknown"]
    await advance(sandbox, 2 * DAY)
    later = await qyapi(sandbox, "customer/batchget", {"external_userid_list": [deer]})
    assert (later["customer_list"], later["invalid_external_userid"]) == ([], [deer])
    too_many = {"external_userid_list": [f"wm{n}" for n in range(101)]}
    assert (await qyapi(sandbox, "customer/batchget", too_many))["errcode"] == 40058


async def test_state_shows_accounts_servicers_and_sessions_when_customers_chat(sandbox: Client) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "你好")
    await send_text(sandbox, open_kfid, deer, "您好")
    official, after_sales = (await state(sandbox))["kf_accounts"]
    assert (official["name"], after_sales["name"]) == ("群客官方客服", AFTER_SALES)
    assert official["servicers"] == [{"userid": "wangwu", "status": 1}, {"userid": "zhaoliu", "status": 1}]
    [session] = official["sessions"]
    assert session["external_userid"] == deer and session["name"] == "小鹿乱撞🦌"
    assert (session["service_state"], session["servicer_userid"], session["sends_used"]) == (0, "", 1)
    assert session["sends_left"] == 4 and session["last_customer_msg_time"] is not None
    assert after_sales["sessions"] == []


async def test_chats_list_every_line_in_order_when_customer_bot_and_servicer_talk(sandbox: Client) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "你好")
    await send_text(sandbox, open_kfid, deer, "您好，请问有什么可以帮您？")
    body = {"touser": deer, "open_kfid": open_kfid, "msgtype": "msgmenu", "msgmenu": menu(("human", "转人工"))}
    await qyapi(sandbox, "send_msg", body)
    await act(sandbox, "kf-click", customer=deer, menu_id="human")
    await trans(sandbox, open_kfid, deer, 3, "wangwu")
    await act(sandbox, "kf-servicer-say", member="wangwu", customer=deer, text="我是王五")
    [chat] = await chats(sandbox, open_kfid=open_kfid)
    lines = [(line["from"], line["msgtype"], line.get("via")) for line in chat["messages"]]
    assert lines == [
        ("customer", "text", None),
        ("api", "text", "send_msg"),
        ("api", "msgmenu", "send_msg"),
        ("customer", "text", None),
        ("servicer", "text", None),
    ]
    assert chat["messages"][1]["message"] == {"text": {"content": "您好，请问有什么可以帮您？"}}
    assert chat["messages"][3]["message"]["text"] == {"content": "转人工", "menu_id": "human"}
    assert chat["service_state"] == 3 and chat["open_kfid"] == open_kfid
    assert await chats(sandbox, open_kfid=await kfid(sandbox, AFTER_SALES)) == []
    async with sandbox.get("/sandbox/kf/chats", params={"open_kfid": "wkNope"}) as response:
        assert response.status == 404


async def _cli(sandbox: Client, *args: str) -> Any:
    url = str(sandbox.make_url(""))
    return await asyncio.to_thread(CliRunner().invoke, cli_app, list(args), env={"SANDBOX_URL": url})


async def test_cli_kf_say_writes_as_a_new_customer_and_state_shows_the_session(
    sandbox: Client, receiver: Receiver
) -> None:
    result = await _cli(sandbox, "kf-say", "--as", "new", "--name", "CLI用户", "--json", "我想咨询课程")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["customer"]["name"] == "CLI用户" and data["external_userid"].startswith("wm")
    page = await sync(sandbox, token=await kf_token(sandbox, receiver), open_kfid=data["open_kfid"])
    assert [item["text"]["content"] for item in page["msg_list"]] == ["我想咨询课程"]
    shown = await _cli(sandbox, "state")
    assert shown.exit_code == 0, shown.output
    assert "群客官方客服" in shown.output and "CLI用户" in shown.output
    listed = await _cli(sandbox, "kf-chats")
    assert "我想咨询课程" in listed.output


async def test_cli_kf_send_media_reads_numbers_when_fields_are_given(sandbox: Client, receiver: Receiver) -> None:
    deer = await customer(sandbox, "小鹿乱撞🦌")
    args = ("kf-send-media", "--as", deer, "--type", "location", "--field", "latitude=31.2", "--field", "name=外滩")
    result = await _cli(sandbox, *args)
    assert result.exit_code == 0, result.output
    assert "操作成功" in result.output
    [item] = (await sync(sandbox, token=await kf_token(sandbox, receiver), open_kfid=await kfid(sandbox)))["msg_list"]
    assert item["location"]["latitude"] == 31.2 and item["location"]["name"] == "外滩"
    bad = await _cli(sandbox, "kf-servicer-say", "--member", "wangwu", "--customer", deer, "抢答")
    assert bad.exit_code == 1 and "Traceback" not in bad.output
