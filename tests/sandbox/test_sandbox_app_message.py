"""member-app-say: a member's text to the app arrives as WeCom's encrypted `text` callback (WECOM.md §2a)."""

from __future__ import annotations

from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import DEMO, Client, act, post_json, settle


async def test_member_app_say_pushes_an_app_text_message(sandbox: Client, receiver: Receiver) -> None:
    result = await act(sandbox, "member-app-say", member="wangwu", text="解决 T1 <ok>]]>")
    await settle(sandbox)
    assert len(receiver.delivered) == 1
    delivered = receiver.delivered[0]
    event = delivered.event
    assert (event["ToUserName"], event["FromUserName"], event["MsgType"]) == (DEMO.corp_id, "wangwu", "text")
    assert event["Content"] == "解决 T1 <ok>]]>"  # a CDATA terminator inside the text survives
    assert event["MsgId"] == result["message"]["msgid"] and event["MsgId"].isdigit()
    assert event["AgentID"] == str(DEMO.agent_id) == delivered.envelope["AgentID"]
    assert "Event" not in event and "ChangeType" not in event
    assert list(event)[:4] == ["ToUserName", "FromUserName", "CreateTime", "MsgType"]


async def test_two_messages_get_distinct_msgids(sandbox: Client, receiver: Receiver) -> None:
    first = await act(sandbox, "member-app-say", member="wangwu", text="工单")
    second = await act(sandbox, "member-app-say", member="wangwu", text="工单")
    assert first["message"]["msgid"] != second["message"]["msgid"]
    await settle(sandbox)
    assert len(receiver.delivered) == 2


async def test_unknown_member_and_empty_or_long_text_are_refused(sandbox: Client, receiver: Receiver) -> None:
    status, body = await post_json(sandbox, "/sandbox/act/member-app-say", {"member": "nobody", "text": "工单"})
    assert status == 404 and body["error"]["code"] == "unknown_member"
    status, body = await post_json(sandbox, "/sandbox/act/member-app-say", {"member": "wangwu", "text": "  "})
    assert status == 400 and body["error"]["code"] == "empty_text"
    status, body = await post_json(sandbox, "/sandbox/act/member-app-say", {"member": "wangwu", "text": "长" * 700})
    assert status == 400 and body["error"]["code"] == "too_long"
    await settle(sandbox)
    assert receiver.delivered == []
