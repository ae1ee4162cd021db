"""kf/sync_msg items become the right normalized events (WECOM.md §2d shapes)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.channels.wecom.kf_messages import customers_in, to_events
from bot.events import ChatKind, ChatMessage, KfSessionChanged, MessageChannel, MessageRecalled, Person, Speaker

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
KF = "wkAAAAAAAAAAAAAAAAAAAA"


def item(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "msgid": "m1",
        "open_kfid": KF,
        "external_userid": "wmCUSTOMER",
        "send_time": 1795000000,
        "origin": 3,
    }
    base.update(fields)
    return base


def test_customer_text_with_menu_click() -> None:
    [event] = to_events(item(msgtype="text", text={"content": "5星", "menu_id": "csat_5"}), {}, NOW)
    assert isinstance(event, ChatMessage)
    assert (event.channel, event.chat_kind, event.chat_id) == (MessageChannel.KF, ChatKind.KF, KF)
    assert event.speaker is Speaker.CUSTOMER and event.speaker_id == "wmCUSTOMER"
    assert event.text == "5星" and event.menu_id == "csat_5"
    assert event.occurred_at == datetime.fromtimestamp(1795000000, UTC)
    assert event.source_key == "kf:m1"


def test_servicer_reply_is_a_member_message_on_the_customers_chat() -> None:
    raw = item(origin=5, servicer_userid="lisi", msgtype="text", text={"content": "您好，我来处理"})
    [event] = to_events(raw, {"wmCUSTOMER": Person("wmCUSTOMER", name="晴天")}, NOW)
    assert isinstance(event, ChatMessage)
    assert event.speaker is Speaker.MEMBER and event.member_userid == "lisi"
    assert event.customer == Person("wmCUSTOMER", name="晴天")


def test_media_keeps_its_body_and_unknown_types_keep_the_raw_item() -> None:
    [image] = to_events(item(msgtype="image", image={"media_id": "MEDIA"}), {}, NOW)
    assert isinstance(image, ChatMessage) and image.msgtype == "image" and image.body == {"media_id": "MEDIA"}
    raw = item(msgtype="hologram", hologram={"depth": 3})
    [unknown] = to_events(raw, {}, NOW)
    assert isinstance(unknown, ChatMessage) and unknown.msgtype == "unknown"
    assert unknown.body == {"original_msgtype": "hologram", "raw": raw}


def test_events_map_to_session_changes_and_recalls() -> None:
    enter = item(
        msgid="e1",
        origin=4,
        msgtype="event",
        event={"event_type": "enter_session", "open_kfid": KF, "external_userid": "wmX", "welcome_code": "WC"},
    )
    [entered] = to_events(enter, {}, NOW)
    assert isinstance(entered, KfSessionChanged)
    assert (entered.change, entered.code, entered.code_kind) == ("enter", "WC", "welcome")
    ended = item(
        msgid="e2",
        origin=4,
        msgtype="event",
        event={"event_type": "session_status_change", "external_userid": "wmX", "change_type": 3, "msg_code": "END"},
    )
    [end] = to_events(ended, {}, NOW)
    assert isinstance(end, KfSessionChanged)
    assert (end.change, end.state, end.code, end.code_kind) == ("ended", 4, "END", "session_end")
    recall = item(msgid="e3", origin=4, msgtype="event", event={"event_type": "user_recall_msg", "recall_msgid": "m1"})
    [recalled] = to_events(recall, {}, NOW)
    assert isinstance(recalled, MessageRecalled) and recalled.msgid == "m1"
    account = item(msgid="e4", origin=4, msgtype="event", event={"event_type": "servicer_status_change", "status": 2})
    account["external_userid"] = ""
    assert to_events(account, {}, NOW) == []


def test_customers_in_reads_message_and_event_ids() -> None:
    items = [item(), item(external_userid="", event={"external_userid": "wmY"})]
    assert customers_in(items) == {"wmCUSTOMER", "wmY"}
