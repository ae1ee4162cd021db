"""The OA normaliser: a follower's text, and a tap on a msgmenu option (text carrying bizmsgmenuid)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.channels.officialaccount.normalize import event_from_oa_payload
from bot.events import ChatMessage

AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def text_xml(content: str, extra: str = "") -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[oFollower1]]></FromUserName>"
        f"<CreateTime>1765000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>42</MsgId>{extra}</xml>"
    )


def test_a_menu_tap_carries_its_option_id_when_the_text_has_bizmsgmenuid() -> None:
    xml = text_xml("都不是，转人工", "<bizmsgmenuid><![CDATA[faq-none]]></bizmsgmenuid>")
    event = event_from_oa_payload(xml, "oa:msg:42", AT)
    assert isinstance(event, ChatMessage)
    assert (event.menu_id, event.body["menu_id"], event.text) == ("faq-none", "faq-none", "都不是，转人工")


def test_a_plain_text_has_no_menu_id_when_no_option_was_tapped() -> None:
    event = event_from_oa_payload(text_xml("能退款吗"), "oa:msg:42", AT)
    assert isinstance(event, ChatMessage)
    assert event.menu_id == "" and "menu_id" not in event.body
