"""The negative-word lexicon: what counts as a complaint, and what only sounds like one."""

from __future__ import annotations

import pytest

from services.text.tone import is_complaint, negative_terms, negativity


@pytest.mark.parametrize(
    "text",
    [
        "我要投诉你们",
        "给你们差评",
        "你们就是骗子",
        "我要打12315",
        "态度太差了，真让人失望",
        "垃圾产品，再也不买了",
    ],
)
def test_complaints(text: str) -> None:
    assert is_complaint(text)


@pytest.mark.parametrize(
    "text",
    [
        "你好，请问什么时候发货",
        "质量不差，挺好的",
        "差不多就行",
        "我没有投诉的意思，就是问问",
        "不满意你们的退货政策怎么处理",  # displeasure, not yet a complaint (0.4)
        "有点失望",
    ],
)
def test_not_complaints(text: str) -> None:
    assert not is_complaint(text)


def test_hits_are_longest_first_without_overlap_and_once_each() -> None:
    hits = negative_terms("态度太差，太差了，太差！")
    assert [h.term for h in hits] == ["态度太差", "太差"]
    assert negativity("态度太差，太差了") == pytest.approx(1.2)


def test_extra_words_count_as_complaints() -> None:
    assert not is_complaint("我要找你们领导")
    assert is_complaint("我要找你们领导", extra=["找你们领导"])
    assert [h.term for h in negative_terms("我要找你们领导", extra=["找你们领导", " "])] == ["找你们领导"]
