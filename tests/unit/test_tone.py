"""The negative-word lexicon: what counts as a complaint, and what only sounds like one."""

from __future__ import annotations

import pytest

from services.churn.words import negative_terms as churn_negative_terms
from services.text.tone import is_complaint, is_plain_question, negative_terms, negativity


@pytest.mark.parametrize(
    "text",
    [
        "我要投诉你们",
        "给你们差评",
        "你们就是骗子",
        "我要打12315",
        "态度太差了，真让人失望",
        "垃圾产品，再也不买了",
        "太失望了，非常不满意",
        "你们这是骗钱",
        "我被骗了",
        "太坑了吧，差评",
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
        "非常失望",
        "我没有不满意，就是问问",
        "不是不满意，想再了解一下",
        "一点都不失望，非常满意",
        "我没有被骗，放心",
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


@pytest.mark.parametrize(
    "text",
    ["请问支持七天无理由退货吗", "可以退款吗？", "怎么申请退款？", "订单能取消吗", "请问退货运费谁出？"],
)
def test_a_question_about_a_return_policy_is_not_negative_when_asked_plainly(text: str) -> None:
    assert churn_negative_terms(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("为什么还不给我退款？", ["退款"]),
        ("东西坏了，我要退货！", ["退货"]),
        ("我要取消订单", ["取消订单"]),
        ("请问退货运费谁出？质量太差了我要退款", ["太差", "退款"]),
    ],
)
def test_wanting_a_refund_still_counts_when_it_is_a_demand_or_a_grievance(text: str, expected: list[str]) -> None:
    assert churn_negative_terms(text) == expected


@pytest.mark.parametrize(
    ("clause", "plain"),
    [("请问几点发货", True), ("能退吗", True), ("凭什么不能退货？", False), ("到底退不退款？", False), ("退款", False)],
)
def test_plain_questions_are_told_from_grievances_when_phrased_as_questions(clause: str, plain: bool) -> None:
    assert is_plain_question(clause) is plain
