"""Negative words for the churn signal: the shared tone lexicon plus signs of leaving that are not complaints."""

from __future__ import annotations

import re
from typing import Final

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
# "不失望", "没有不满意", "并不后悔": a negation right before the term turns it around.
_NEGATED: Final = re.compile(r"(一点也不|没有|并不|毫不|不|没)(失望|不满意|不满|生气|后悔|无语)")


def negative_terms(text: str) -> list[str]:
    """The negative phrases in `text` (tone lexicon and leaving signs), in order of appearance."""
    cleaned = _NEGATED.sub(lambda m: " " * len(m.group()), text)
    hits = tone_terms(cleaned, extra=LEAVING_TERMS)
    return sorted((h.term for h in hits), key=lambda term: cleaned.find(term))
