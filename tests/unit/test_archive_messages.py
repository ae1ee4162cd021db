"""Decrypted archive messages become events with the right chat, speaker and customer (WECOM.md §2c)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.channels.wecom.archive_messages import to_events
from bot.events import ChatKind, ChatMessage, MessageRecalled, Person, Speaker

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def msg(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "msgid": "a1_external",
        "action": "send",
        "from": "wmCUSTOMER",
        "tolist": ["zhangsan"],
        "roomid": "wrGROUP",
        "msgtime": 1795000000123,
        "msgtype": "text",
        "text": {"content": "请问怎么退货"},
    }
    base.update(fields)
    return base


def test_customer_in_a_group() -> None:
    [event] = to_events(msg(), NOW)
    assert isinstance(event, ChatMessage)
    assert (event.chat_kind, event.chat_id) == (ChatKind.GROUP, "wrGROUP")
    assert event.speaker is Speaker.CUSTOMER and event.customer == Person(external_userid="wmCUSTOMER")
    assert event.text == "请问怎么退货" and event.source_key == "archive:a1_external"
    assert event.occurred_at == datetime.fromtimestamp(1795000000.123, UTC)


def test_member_and_robot_in_a_group_have_no_customer() -> None:
    [member] = to_events(msg(**{"from": "zhangsan"}), NOW)
    assert isinstance(member, ChatMessage) and member.speaker is Speaker.MEMBER and member.customer is None
    assert member.member_userid == "zhangsan"
    [robot] = to_events(msg(**{"from": "wbROBOT"}), NOW)
    assert isinstance(robot, ChatMessage) and robot.speaker is Speaker.ROBOT


def test_one_to_one_chats_belong_to_the_customer_either_way() -> None:
    [asked] = to_events(msg(roomid=""), NOW)
    [answered] = to_events(msg(roomid="", **{"from": "zhangsan", "tolist": ["wmCUSTOMER"]}), NOW)
    for event in (asked, answered):
        assert isinstance(event, ChatMessage)
        assert (event.chat_kind, event.chat_id) == (ChatKind.SINGLE, "single:zhangsan:wmCUSTOMER")
        assert event.customer == Person(external_userid="wmCUSTOMER") and event.member_userid == "zhangsan"
    assert isinstance(answered, ChatMessage) and answered.speaker is Speaker.MEMBER


def test_internal_chats_and_switches_are_not_kept() -> None:
    assert to_events(msg(roomid="", **{"from": "zhangsan", "tolist": ["lisi"]}), NOW) == []
    assert to_events(msg(action="switch"), NOW) == []


def test_recall_and_media_and_unknown() -> None:
    [recall] = to_events(msg(action="recall", msgtype="revoke", revoke={"pre_msgid": "a1_external"}), NOW)
    assert isinstance(recall, MessageRecalled) and recall.msgid == "a1_external"
    body = {"md5sum": "x", "filename": "发票.pdf", "fileext": "pdf", "filesize": 10, "sdkfileid": "F"}
    [file] = to_events(msg(msgtype="file", file=body), NOW)
    assert isinstance(file, ChatMessage) and file.msgtype == "file" and file.body == body and file.text == "发票.pdf"
    raw = msg(msgtype="hologram", hologram={"x": 1})
    [unknown] = to_events(raw, NOW)
    assert isinstance(unknown, ChatMessage) and unknown.msgtype == "unknown"
    assert unknown.body == {"original_msgtype": "hologram", "raw": raw}
