"""Negative tone in customer text: a small, explainable lexicon of weighted Chinese terms (complaints, churn)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

# Weight 1.0 is a complaint on its own ("投诉"); 0.5 is a clear sign of anger; 0.3 is mild displeasure. The list is
# short on purpose: every hit is shown to a rep as the reason, so each term must read as negative without context.
NEGATIVE_TERMS: Final[Mapping[str, float]] = {
    # The customer says it is a complaint or a bad review.
    "投诉": 1.0,
    "差评": 1.0,
    "举报": 1.0,
    "12315": 1.0,
    "消协": 1.0,
    "维权": 1.0,
    "曝光": 0.8,
    "骗子": 1.0,
    "诈骗": 1.0,
    "欺诈": 1.0,
    "坑人": 0.8,
    "垃圾": 0.6,
    # Strong anger.
    "太差": 0.6,
    "很差": 0.5,
    "极差": 0.6,
    "非常差": 0.6,
    "差劲": 0.6,
    "恶心": 0.6,
    "气死": 0.6,
    "无语": 0.4,
    "失望": 0.5,
    "忍无可忍": 0.8,
    "受够了": 0.6,
    "太过分": 0.6,
    "不负责任": 0.6,
    "什么破": 0.6,
    "退钱": 0.5,
    "骗人": 0.8,
    "骗钱": 1.0,
    "骗我": 0.8,
    "被骗": 1.0,
    "欺骗": 0.8,
    "被坑": 0.8,
    "坑钱": 1.0,
    "坑爹": 0.8,
    "太坑": 0.8,
    "再也不买": 0.8,
    "再也不会买": 0.8,
    "不会再买": 0.8,
    # Mild displeasure.
    "不满意": 0.4,
    "不满": 0.3,
    "没人理": 0.5,
    "没人回": 0.5,
    "没人管": 0.5,
    "等了半天": 0.4,
    "一直没回": 0.4,
    "还没到": 0.3,
    "态度差": 0.6,
    "态度太差": 0.6,
    "敷衍": 0.5,
}

# "不差" ("not bad"), "差不多" ("about right"), "没有投诉", "一点也不失望", "没有不满意" and "不是不满意" are not
# negative: such spans are blanked before matching. Longer negations first, so "不是" is not read as "不".
_NEGATED: Final = re.compile(
    r"不差|差不多|差点|没有投诉|不是投诉|不用投诉|不想投诉|不会投诉|不算差"
    r"|(?:一点也不|一点都不|并没有|也没有|没有|不是|并不|毫不|不|没)(?:有点|太|很)?"
    r"(?:失望|不满意|不满|生气|后悔|无语|被坑|被骗|坑人|骗人)"
)
# "太失望", "非常不满意": an intensifier right before a term makes it half as strong again, so two intensified
# milder terms add up to a complaint ("太失望了，非常不满意") while one alone ("非常失望") still does not.
_INTENSIFIER: Final = re.compile(r"(?:太|非常|很|特别|十分|极其|极度|超级|真的|实在|相当|极)$")
_INTENSIFIED: Final = 1.5
# A clause (up to and including its end mark) and what makes it a plain question: asking ("请问", "能否") or
# ending like one ("吗", "？"). A question with a grievance in it ("为什么还不退款？", "凭什么不能退货") is not plain.
_CLAUSE: Final = re.compile(r"[^。！!？?；;，,\n]*[。！!？?；;，,\n]?")
_ASKING: Final = re.compile(r"^\s*(?:请问|问一下|想问|咨询|能否|能不能|可否|可不可以|是否)|(?:吗|么|嘛|呢|[?？])\s*$")
_GRIEVANCE: Final = re.compile(r"为什么|为啥|怎么还|凭什么|还不|还没|到底|究竟|[!！]")
# One complaint is enough to open a ticket; below this only a combination of strong terms counts as one.
COMPLAINT_THRESHOLD: Final = 1.0


@dataclass(frozen=True, slots=True)
class ToneHit:
    """One negative term found in a text, with its weight (for the reasons shown to a rep)."""

    term: str
    weight: float


def _lexicon(extra: Iterable[str]) -> dict[str, float]:
    words = dict(NEGATIVE_TERMS)
    for word in extra:
        if word.strip():
            words[word.strip()] = max(words.get(word.strip(), 0.0), COMPLAINT_THRESHOLD)
    return words


def is_plain_question(clause: str) -> bool:
    """A neutral question ("请问支持七天无理由退货吗"), not a grievance phrased as one ("为什么还不给我退款？")."""
    return bool(_ASKING.search(clause)) and not _GRIEVANCE.search(clause)


def _blank_asked(text: str, asked: Iterable[str]) -> str:
    """Blank the `asked` words inside plain questions: asking about a return policy is not wanting out."""
    words = [w for w in asked if w]
    if not words:
        return text
    parts = []
    for clause in _CLAUSE.findall(text):
        if is_plain_question(clause):
            for word in words:
                clause = clause.replace(word, " " * len(word))
        parts.append(clause)
    return "".join(parts)


def negative_terms(text: str, extra: Iterable[str] = (), asked: Iterable[str] = ()) -> list[ToneHit]:
    """The negative terms in `text`, longest first and without overlaps ("态度太差" is one hit, not two).

    `extra` words (config `tickets.complaint_words`) count as complaints on their own; `asked` words (a policy such
    as "退货") do not count inside a plain question.
    """
    flat = _NEGATED.sub(lambda m: " " * len(m.group()), _blank_asked(text, asked))
    taken = [False] * len(flat)
    hits: list[ToneHit] = []
    words = _lexicon(extra)
    for term in sorted(words, key=len, reverse=True):
        start = flat.find(term)
        while start >= 0:
            span = range(start, start + len(term))
            if not any(taken[i] for i in span):
                for i in span:
                    taken[i] = True
                weight = words[term] * (_INTENSIFIED if _INTENSIFIER.search(flat[:start]) else 1.0)
                hits.append(ToneHit(term, round(min(weight, COMPLAINT_THRESHOLD), 3)))
                break  # a term counts once per text: repeating a word is not more evidence
            start = flat.find(term, start + 1)
    return hits


def negativity(text: str, extra: Iterable[str] = ()) -> float:
    """The sum of the weights of the negative terms in `text` (0 when there is none)."""
    return round(sum(hit.weight for hit in negative_terms(text, extra)), 3)


def is_complaint(text: str, extra: Iterable[str] = ()) -> bool:
    """A complaint: "投诉", "差评" or another weight-1 term, or strong negative words adding up to the same."""
    return negativity(text, extra) >= COMPLAINT_THRESHOLD
