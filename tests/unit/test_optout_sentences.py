"""A customer refusing marketing in words ("以后别给我发广告了") opts out like "退订"; mentioning ads does not."""

from __future__ import annotations

import pytest

from services.customers.contact_prefs import Preference, preference_word
from services.customers.optout_sentences import asks_to_stop_marketing

REFUSALS = [
    "以后别给我发广告了",
    "不要再推送了",
    "取消推送",
    "关闭推送",
    "别发活动了",
    "不想收到任何营销信息",
    "请勿推送活动消息",
    "广告别发了",
    "活动消息不要再推了",
    "别再给我发广告了！",
    "不要给我推送这些广告",
    "你们的广告别再发给我了",
    "以后不要再发这种广告了，谢谢",
    "不需要这些推广信息",
    "每天发广告，烦死了，别发广告了",
    "拒绝营销短信",
    "不要广告",
    "以后别给我发广告了～～",
]
NOT_REFUSALS = [
    "别发了",  # about what?
    "别发了我已经收到了",
    "不用活动价了",
    "不用活动价，直接原价买",
    "不要优惠券",
    "不要活动了",
    "能不能不发广告？",  # a question for a person
    "可以不推送吗",
    "这个活动我不要了",
    "我不要参加活动",
    "不想参加这个活动",
    "取消活动报名",
    "取消订单",
    "别取消活动",
    "不要错过活动消息",
    "活动什么时候开始",
    "广告位多少钱",
    "这个优惠别错过",
    "我收到广告了",
    "你们的活动很好",
    "别发广告了，" + "我上次买的东西到现在都没有发货，你们到底什么时候能处理好",  # a complaint, not only a refusal
]


@pytest.mark.parametrize("text", REFUSALS)
def test_a_short_refusal_of_marketing_opts_out(text: str) -> None:
    assert asks_to_stop_marketing(text)
    assert preference_word(text, ["退订"], ["订阅"]) is Preference.OUT


@pytest.mark.parametrize("text", NOT_REFUSALS)
def test_a_message_that_only_mentions_ads_or_activities_does_not(text: str) -> None:
    assert not asks_to_stop_marketing(text)
    assert preference_word(text, ["退订"], ["订阅"]) is None


def test_a_manager_can_keep_opt_out_to_the_configured_words() -> None:
    assert preference_word("以后别给我发广告了", ["退订"], ["订阅"], sentences=False) is None
    assert preference_word("退订", ["退订"], ["订阅"], sentences=False) is Preference.OUT
