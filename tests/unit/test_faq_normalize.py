"""Normalisation: width, traditional -> simplified, case, punctuation, emoji, whitespace and cheap typos."""

from __future__ import annotations

import pytest

from services.text.normalize import analyze, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("請問退貨怎麼辦理？", "请问退货怎么办理"),  # traditional -> simplified, punctuation stripped
        ("ＶＩＰ会员多少钱", "vip会员多少钱"),  # full-width latin -> half-width, lower-case
        ("１２３号发货吗", "123号发货吗"),  # full-width digits
        ("退 货  流程", "退货流程"),  # a space between CJK characters is a typing accident
        ("课程   Replay  在哪", "课程 replay 在哪"),  # other whitespace collapses to one space
        ("肿么开发漂啊～～", "怎么开发票啊"),  # internet spelling and a pinyin homophone
        ("优惠卷在哪领", "优惠券在哪领"),
        ("登陆不了", "登录不了"),
        ("好的[微笑]", "好的"),  # WeChat's bracketed emoji
        ("👍👍", ""),
        ("  ", ""),
        ("发货了吗😂😂", "发货了吗"),
    ],
)
def test_normalize_table(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_flags_remember_what_was_stripped() -> None:
    asked = analyze("退货怎么弄？")
    assert asked.question_mark and not asked.emoji
    assert analyze("收到👍").emoji
    assert analyze("好的[微笑]").emoji
    plain = analyze("好的，谢谢。")
    assert plain.punctuation and not plain.question_mark and not plain.emoji


def test_typo_fixes_never_fire_inside_unrelated_text() -> None:
    # "发表" (publish) is a word of its own and must not become "发票".
    assert normalize("发表评论") == "发表评论"
