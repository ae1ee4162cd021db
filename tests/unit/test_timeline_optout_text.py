"""A customer's 退订 / 订阅 reads as Chinese on the timeline, not as the event's key."""

from __future__ import annotations

from services.customers.timeline import describe


def test_opt_out_and_back_in_read_as_chinese_when_shown_on_the_timeline() -> None:
    assert describe("opted_out", "", "", {"channel": "kf"}) == "退订了营销消息（在微信客服回复）"
    assert describe("opted_in", "", "", {"channel": "oa"}) == "恢复订阅营销消息（在公众号回复）"
    assert describe("opted_out", "", "", {}) == "退订了营销消息"
