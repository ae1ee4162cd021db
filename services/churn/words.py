"""Negative words for the churn signal: the shared tone lexicon plus signs of leaving that are not complaints."""

from __future__ import annotations

from typing import Final

from services.text.tone import NEGATIVE_TERMS
from services.text.tone import negative_terms as tone_terms

# Wanting out or having given up: weak evidence of a complaint, strong evidence of churn.
LEAVING_TERMS: Final = (
    "退款",
    "退货",
    "取消订单",
    "再也不",
    "不想再",
    "后悔",
    "上当",
    "被坑",
    "忽悠",
    "糟糕",
    "太慢",
    "不回复",
    "拉黑",
    "删了",
    "生气",
)


# Policies a customer may simply ask about ("请问支持七天无理由退货吗"): only wanting them out loud is a sign.
POLICY_TERMS: Final = ("退款", "退货", "取消订单", "退钱")


def negative_terms(text: str) -> list[str]:
    """The negative phrases in `text` (tone lexicon and leaving signs), in order of appearance."""
    hits = tone_terms(text, extra=LEAVING_TERMS, asked=POLICY_TERMS)
    return sorted((h.term for h in hits), key=text.find)


def candidate_terms() -> tuple[str, ...]:
    """Every word `negative_terms` can find: a text containing none of them has no hit (matching only blanks text,
    it never makes a word), so the database may drop such texts before they are read."""
    return tuple(sorted({*NEGATIVE_TERMS, *(t.strip() for t in LEAVING_TERMS if t.strip())}))
