"""Read a CSAT (1-5) or NPS (0-10) score from a customer's reply, refusing anything that is more than an answer.

The rule is "the whole message is the answer": a score ("5", "五星", "9分", "⭐⭐⭐⭐"), a satisfaction word ("满意",
"一般", "太差了"), or both, with polite wrapping ("给5分吧", "5分，非常满意！"). Anything else is a message, not an
answer: "5点上课吗" (a question), "我买了5件" (a quantity), "10号发货" (a date), and "不满意你们的退货政策怎么处理",
which has a satisfaction word but is a question about a policy: it stays a message (the complaint detector and the
FAQ see it), and the survey keeps waiting. One exception, the way people most often give a low score: a score
stated first, as a sentence of its own, then why ("两星，太慢了", "2分，等了一个小时没人理"). The score must say it is
one (a unit, stars or a satisfaction word: a bare "2，我买了两件" is not) and the reason must not ask anything; the
whole message is kept with the survey and quoted in the low-score alert. docs/TICKETS.md lists the rules.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final, Literal

Kind = Literal["csat", "nps"]

CSAT_RANGE: Final = range(1, 6)
NPS_RANGE: Final = range(0, 11)

_CN_DIGITS: Final = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_STAR_FULL: Final = "⭐★🌟"
_STAR_EMPTY: Final = "☆"

# Satisfaction words, matched against the whole (normalised) phrase. "好", "行", "可以" and "ok" alone are NOT here:
# they are how people acknowledge a question ("好的，我打分"), not a rating.
_CSAT_WORDS: Final[dict[int, tuple[str, ...]]] = {
    5: (
        "非常满意",
        "很满意",
        "特别满意",
        "超级满意",
        "十分满意",
        "太满意",
        "超满意",
        "相当满意",
        "好评",
        "五星好评",
        "很好",
        "非常好",
        "特别好",
        "太好",
        "超好",
        "完美",
        "超赞",
        "太棒",
        "很棒",
        "非常棒",
        "特别棒",
        "点赞",
        "赞",
        "👍",
    ),
    4: (
        "满意",
        "挺满意",
        "比较满意",
        "还挺满意",
        "蛮满意",
        "挺好",
        "不错",
        "挺不错",
        "很不错",
        "还不错",
        "蛮好",
        "棒",
        "比较好",
    ),
    3: (
        "一般",
        "一般般",
        "还行",
        "还可以",
        "还好",
        "凑合",
        "马马虎虎",
        "中规中矩",
        "基本满意",
        "还算满意",
        "普通",
        "中等",
        "过得去",
    ),
    2: (
        "不满意",
        "不太满意",
        "不怎么满意",
        "不怎么样",
        "不好",
        "不太好",
        "差",
        "较差",
        "比较差",
        "有点差",
        "不行",
        "失望",
        "有点失望",
    ),
    1: (
        "非常不满意",
        "很不满意",
        "特别不满意",
        "极不满意",
        "十分不满意",
        "差评",
        "很差",
        "太差",
        "非常差",
        "特别差",
        "极差",
        "超差",
        "太烂",
        "很烂",
        "垃圾",
        "糟糕",
        "太糟糕",
        "非常失望",
        "很失望",
        "太失望",
        "👎",
    ),
}
_WORD_SCORE: Final = {word: score for score, words in _CSAT_WORDS.items() for word in words}

# What may wrap an answer: a subject in front ("服务", "这次"), a verb ("给", "打"), particles behind ("吧", "了").
_LEAD: Final = re.compile(
    r"^(?:我|俺|那|那就|就|必须|当然|肯定)*"
    r"(?:(?:给|打|评|选)(?:你们|您|你)?(?:个|一个)?)?"
)
_SUBJECT: Final = re.compile(
    r"^(?:整体|总体|总的来说|这次|本次|这次的|你们的?|客服的?|服务|态度|体验|感觉|觉得)*(?:真的|真|都|还是|是)?"
)
_UNIT_GAP: Final = re.compile(r"(?<=[\d零〇一二两三四五六七八九十满])\s+(?=分|星|颗)")
_TAIL: Final = re.compile(r"(?:吧|啦|了|哦|喔|呀|啊|哈|嘛|呢|的|哈哈)+$")
# Pieces that ride along with an answer without being one ("好的，5分", "非常满意，谢谢").
_COURTESY: Final = re.compile(r"^(?:谢谢|谢谢你|谢谢你们|多谢|感谢|辛苦了|辛苦|谢啦|好的|好|嗯|嗯嗯|ok|okay|行)+$")
_NUMBER_SCORE: Final = re.compile(
    r"^(?P<num>\d{1,2}|[零〇一二两三四五六七八九十]{1,2}|满)(?P<unit>分|星|颗星|个星|颗|星星)?(?:/(?P<of>5|10))?$"
)
_SEPARATORS: Final = re.compile(r"[，,、;；\s]+")
MAX_ANSWER_CHARS: Final = 30
MAX_WITH_REASON_CHARS: Final = 80  # a score and a sentence or two of why
_QUESTION: Final = re.compile(r"[?？]|吗|怎么|为什么|什么|哪|几")


def _normalise(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII), lower case, no spaces or decorations at the ends."""
    flat = unicodedata.normalize("NFKC", text).lower().replace("\ufe0f", "").replace("\u200d", "")
    flat = _UNIT_GAP.sub("", flat)  # "5 分" is "5分"
    return flat.strip(" \t\r\n。.!！~～…😊🙂😄😁🌹❤💕🙏👌")


def _cn_number(token: str) -> int | None:
    if token == "十":
        return 10
    if len(token) == 1:
        return _CN_DIGITS.get(token)
    if token.startswith("十"):  # 十一..十九: never a score, but read it so the range check refuses it
        digit = _CN_DIGITS.get(token[1])
        return None if digit is None else 10 + digit
    if token.endswith("十"):
        digit = _CN_DIGITS.get(token[0])
        return None if digit is None else digit * 10
    return None


def _strip_wrapping(phrase: str) -> str:
    phrase = _LEAD.sub("", phrase, count=1)
    phrase = _TAIL.sub("", phrase)
    return phrase


def _number(phrase: str, kind: Kind) -> int | None:
    """A score written as a number: "5", "5分", "五星", "五颗星", "9/10", "满分"."""
    match = _NUMBER_SCORE.match(_strip_wrapping(phrase))
    if match is None:
        return None
    num, unit, of = match.group("num"), match.group("unit") or "", match.group("of")
    if num == "满":
        return (5 if kind == "csat" else 10) if unit == "分" else None
    value = int(num) if num.isdigit() else _cn_number(num)
    if value is None:
        return None
    if "星" in unit or unit == "颗":
        return value if kind == "csat" else None  # stars are a 5-point scale
    if of is not None and int(of) != (5 if kind == "csat" else 10):
        return None
    if not unit and not num.isdigit() and len(num) > 1:
        return None  # "三十" alone is a number in a sentence, not a score
    return value


def _stars(phrase: str, kind: Kind) -> int | None:
    """ "⭐⭐⭐⭐⭐" or "★★★★☆": the filled stars, on CSAT only."""
    compact = phrase.replace(" ", "")
    if not compact or any(ch not in _STAR_FULL + _STAR_EMPTY for ch in compact) or kind != "csat":
        return None
    filled = sum(1 for ch in compact if ch in _STAR_FULL)
    empty = len(compact) - filled
    if empty and filled + empty != 5:
        return None
    return filled


def _word(phrase: str, kind: Kind) -> int | None:
    if kind != "csat":
        return None
    core = _TAIL.sub("", _SUBJECT.sub("", _strip_wrapping(phrase), count=1))
    half = len(core) // 2
    if len(core) % 2 == 0 and core[:half] == core[half:] and core[:half] in _WORD_SCORE:
        core = core[:half]  # "不错不错"
    if core in _WORD_SCORE:
        return _WORD_SCORE[core]
    thumbs = set(core)
    if thumbs == {"👍"}:
        return 5
    if thumbs == {"👎"}:
        return 1
    return None


def _one(phrase: str, kind: Kind) -> int | None:
    for read in (_number, _stars, _word):
        value = read(phrase, kind)
        if value is not None:
            return value
    return None


def parse_answer(text: str, kind: Kind, menu_id: str = "") -> int | None:
    """The score in `text` (or in a menu click's `menu_id`), or None when the message is not an answer."""
    if menu_id:
        return parse_menu_id(menu_id, kind)
    flat = _normalise(text)
    if not flat or len(flat) > MAX_WITH_REASON_CHARS or _QUESTION.search(flat):
        return None
    pieces = [part for part in _SEPARATORS.split(flat) if part and not _COURTESY.match(part)]
    numbers: list[int] = []
    others: list[int] = []
    for index, part in enumerate(pieces):
        number = _number(part, kind)
        value = number if number is not None else _one(part, kind)
        if value is None:
            # One piece that is not part of an answer makes the whole message not an answer, unless a score that
            # says it is one came first, as a piece of its own: then the rest is the reason ("两星，太慢了").
            if index == 0 or not _states_a_score(pieces[0], kind):
                return None
            break
        (numbers if number is not None else others).append(value)
    else:
        if len(flat) > MAX_ANSWER_CHARS:
            return None
    # An explicit number wins over words that roughly agree ("5分，非常满意"); two different numbers, words that
    # disagree, or a number the words contradict ("5分 太差了") do not make an answer.
    if len(set(numbers)) > 1 or (not numbers and len(set(others)) != 1):
        return None
    if numbers and any(abs(other - numbers[0]) >= 2 for other in others):
        return None
    value = numbers[0] if numbers else others[0]
    valid = CSAT_RANGE if kind == "csat" else NPS_RANGE
    return value if value in valid else None


def _states_a_score(phrase: str, kind: Kind) -> bool:
    """A score nobody could read as anything else: with its unit ("两星", "2分"), as stars, or a satisfaction word;
    not a bare number ("2", which may start "2，我买了两件")."""
    if _stars(phrase, kind) is not None or _word(phrase, kind) is not None:
        return True
    match = _NUMBER_SCORE.match(_strip_wrapping(phrase))
    return match is not None and _number(phrase, kind) is not None and bool(match.group("unit") or match.group("of"))


def parse_menu_id(menu_id: str, kind: Kind) -> int | None:
    """Our own menu ids: "csat_1".."csat_5", "nps_0".."nps_10"; anything else is some other menu's click."""
    prefix, _, number = menu_id.partition("_")
    if prefix != kind or not number.isdigit():
        return None
    value = int(number)
    valid = CSAT_RANGE if kind == "csat" else NPS_RANGE
    return value if value in valid else None


def menu_id(kind: Kind, score: int) -> str:
    return f"{kind}_{score}"
