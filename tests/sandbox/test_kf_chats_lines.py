"""`sandbox kf-chats` shows a bot menu's items with the ids to tap, and a tapped item as a tap."""

from __future__ import annotations

from sandbox.cli.kf_lines import message_lines


def test_menu_items_are_listed_with_their_menu_ids_when_the_bot_sent_a_menu() -> None:
    menu = {
        "head_content": "您是想问：",
        "list": [
            {"type": "click", "click": {"id": "faq:refund", "content": "怎么退款"}},
            {"type": "view", "view": {"url": "https://example.com", "content": "官网"}},
        ],
        "tail_content": "都不是？请直接输入您的问题",
    }
    lines = message_lines({"from": "api", "msgtype": "msgmenu", "message": {"msgmenu": menu}})
    assert lines[0] == "菜单：您是想问："
    assert "怎么退款" in lines[1] and "--menu-id faq:refund" in lines[1]
    assert "官网" in lines[2] and lines[-1].strip() == "都不是？请直接输入您的问题"


def test_a_tap_shows_the_menu_id_when_the_customer_clicked_a_menu_item() -> None:
    tap = {"msgtype": "text", "message": {"msgtype": "text", "text": {"content": "怎么退款", "menu_id": "faq:refund"}}}
    assert message_lines(tap) == ["怎么退款（点击菜单 faq:refund）"]
    assert message_lines({"msgtype": "image", "message": {"image": {}}}) == ["image"]
