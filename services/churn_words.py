"""A small lexicon of negative words in customer Chinese, for the churn signal.

The tickets/CSAT part owns `services/text/tone.py`; until it lands this module keeps its own list, with the same
function name (`negative_terms`), so the two can be unified by swapping an import.
"""

from __future__ import annotations

import re
from typing import Final

# Complaints, disappointment, wanting out, and being ignored; each a whole phrase so "不差" or "差不多" never count.
_TERMS: Final = (
    "投诉",
    "差评",
    "太差",
    "很差",
    "真差",
    "垃圾",
    "失望",
    "不满意",
    "不满",
    "生气",
    "气死",
    "无语",
    "恶心",
    "骗子",
    "骗人",
    "坑人",
    "被坑",
    "上当",
    "忽悠",
    "敷衍",
    "后悔",
    "糟糕",
    "退款",
    "退货",
    "再也不",
    "不会再买",
    "不想再",
    "取消订单",
    "没人理",
    "没人回",
    "不回复",
    "太慢",
    "拉黑",
    "删了",
)
# "不失望", "没有不满意", "并不后悔": a negation right before the term turns it around.
_NEGATED: Final = re.compile(r"(不|没|没有|并不|一点也不|毫不)(失望|不满意|不满|生气|后悔|无语)")
_PATTERN: Final = re.compile("|".join(sorted(map(re.escape, _TERMS), key=len, reverse=True)))


def negative_terms(text: str) -> list[str]:
    """The negative phrases in `text`, in order of appearance (empty when there are none)."""
    cleaned = _NEGATED.sub(" ", text)
    return _PATTERN.findall(cleaned)
