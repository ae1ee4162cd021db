"""Intent: chit-chat stays silent, questions without punctuation are questions, requests and problems need answers."""

from __future__ import annotations

import pytest

from services.text.intent import is_chitchat, is_question, needs_answer

# (text, chit-chat, question, needs an answer)
TABLE = [
    ("好的", True, False, False),
    ("好的谢谢", True, False, False),
    ("谢谢老师！", True, False, False),
    ("收到", True, False, False),
    ("收到👍", True, False, False),
    ("嗯嗯", True, False, False),
    ("ok", True, False, False),
    ("OK👌", True, False, False),
    ("哈哈哈哈", True, False, False),
    ("hhhhh", True, False, False),
    ("😂😂😂", True, False, False),
    ("[微笑]", True, False, False),
    ("。。。", True, False, False),
    ("在吗", True, False, False),
    ("大家早上好", True, False, False),
    ("晚安", True, False, False),
    ("辛苦了 谢谢", True, False, False),
    ("太棒了👍", True, False, False),
    ("笑死我了哈哈", True, False, False),
    ("打卡", True, False, False),
    ("+1", True, False, False),
    ("今天天气不错", False, False, False),
    ("老师讲得真好", False, False, False),
    ("我已经收到货了", False, False, False),
    ("好的我知道怎么退货了", False, False, False),
    ("明白了 我去试试", False, False, False),
    ("退货流程是啥", False, True, True),
    ("几点上课", False, True, True),
    ("发货了没", False, True, True),
    ("能不能开专票", False, True, True),
    ("有优惠没有", False, True, True),
    ("是不是要先登录", False, True, True),
    ("可以分期付款不", False, True, True),
    ("多久能到", False, True, True),
    ("课程在哪看", False, True, True),
    ("优惠券为啥用不了", False, True, True),
    ("快递到哪了？", False, True, True),
    ("退貨怎麼辦", False, True, True),
    ("帮我开个发票", False, False, True),
    ("我要退款", False, False, True),
    ("麻烦帮忙看下我的订单", False, False, True),
    ("转人工", False, False, True),
    ("书被压坏了😡", False, False, True),
    ("登不上去了", False, False, True),
    ("课程播放不了", False, False, True),
    ("明天有事上不了课", False, False, True),
]


@pytest.mark.parametrize(("text", "chitchat", "question", "answer"), TABLE)
def test_intent_table(text: str, chitchat: bool, question: bool, answer: bool) -> None:
    assert is_chitchat(text) is chitchat
    assert is_question(text) is question
    assert needs_answer(text) is answer


def test_table_is_large_enough() -> None:
    assert len(TABLE) >= 40
