"""Normalise customer text for matching: width, traditional → simplified, case, punctuation, emoji, cheap typos."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final

import opencc

# Cheap fixes for what customers really type: pinyin-input homophones and internet spellings. Only multi-character
# forms, so a fix can never fire inside an unrelated word by accident; domain words belong in the synonym map.
TYPOS: Final[dict[str, str]] = {
    "神马": "什么",
    "肿么": "怎么",
    "怎莫": "怎么",
    "怎门": "怎么",
    "咋个": "怎么",
    "木有": "没有",
    "没得": "没有",
    "在嘛": "在吗",
    "在么": "在吗",
    "啥子": "什么",
    "为毛": "为什么",
    "介个": "这个",
    "酱紫": "这样子",
    "童鞋": "同学",
    "退贷": "退货",
    "推货": "退货",
    "退火": "退货",
    "退宽": "退款",
    "发漂": "发票",
    "快第": "快递",
    "块递": "快递",
    "优惠卷": "优惠券",
    "优会券": "优惠券",
    "回方": "回放",
    "会放": "回放",
    "上科": "上课",
    "尚课": "上课",
    "课称": "课程",
    "人公": "人工",
    "转人公": "转人工",
    "密吗": "密码",
    "蜜码": "密码",
    "登路": "登录",
    "登陆": "登录",
    "账好": "账号",
    "帐号": "账号",
    "帐户": "账户",
    "付歀": "付款",
    "定单": "订单",
    "物留": "物流",
    "运废": "运费",
    "会圆": "会员",
    "续废": "续费",
    "营业时问": "营业时间",
}
_TYPO_RE: Final = re.compile("|".join(sorted(map(re.escape, TYPOS), key=len, reverse=True)))
_SPACES: Final = re.compile(r"\s+")
# A space between two CJK characters is a typing accident, not a word boundary.
_CJK_GAP: Final = re.compile(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])")
_QUESTION_MARKS: Final = frozenset("?？")
CACHED_MAX_CHARS: Final = 500
# WeChat's built-in emoji arrive as bracketed names ("[微笑]", "[Thumbs Up]"): emoji, not words.
_WECHAT_EMOJI: Final = re.compile(r"\[[\u4e00-\u9fffA-Za-z ]{1,12}\]")


@dataclass(frozen=True, slots=True)
class Normalized:
    """The matchable text, plus what was stripped from it (intent detection uses the flags)."""

    text: str
    question_mark: bool = False
    emoji: bool = False
    punctuation: bool = False


@cache
def _t2s() -> opencc.OpenCC:
    # Built once per process; the converter itself is cheap to call.
    return opencc.OpenCC("t2s")


def _is_emoji(char: str) -> bool:
    code = ord(char)
    return (
        0x1F000 <= code <= 0x1FAFF  # pictographs, emoticons, transport, supplemental symbols
        or 0x2600 <= code <= 0x27BF  # miscellaneous symbols and dingbats (☺, ✌, ❤)
        or 0x2B00 <= code <= 0x2BFF  # arrows and stars (⭐)
        or 0xFE00 <= code <= 0xFE0F  # variation selectors that follow an emoji
        or code == 0x200D  # zero-width joiner inside emoji sequences
    )


def analyze(text: str) -> Normalized:
    """Normalise and remember whether a question mark, an emoji or other punctuation was there. Cached for chat-sized
    texts: every watcher of a message (wait, FAQ, ticket, opt-out) asks about the same text, and the result is frozen;
    long texts are rare and would make the cache's memory unbounded in practice."""
    return _analyze_cached(text) if len(text) <= CACHED_MAX_CHARS else _analyze(text)


@lru_cache(maxsize=4096)
def _analyze_cached(text: str) -> Normalized:
    return _analyze(text)


def _analyze(text: str) -> Normalized:
    # NFKC turns full-width letters, digits and punctuation into their ASCII forms ("ＶＩＰ？" -> "VIP?").
    folded = _t2s().convert(unicodedata.normalize("NFKC", text))
    stripped = _WECHAT_EMOJI.sub(" ", folded)
    emoji = stripped != folded
    folded = stripped.lower()
    question = punct = False
    out: list[str] = []
    for char in folded:
        category = unicodedata.category(char)
        if category[0] in "LN":
            out.append(char)
            continue
        if char in _QUESTION_MARKS:
            question = True
        elif _is_emoji(char) or category == "So":
            emoji = True
        elif category[0] in "PS":
            punct = True
        out.append(" ")
    collapsed = _CJK_GAP.sub("", _SPACES.sub(" ", "".join(out)).strip())
    fixed = _TYPO_RE.sub(lambda m: TYPOS[m.group(0)], collapsed)
    return Normalized(fixed, question_mark=question, emoji=emoji, punctuation=punct)


def normalize(text: str) -> str:
    """The matchable form of `text` (see `analyze`)."""
    return analyze(text).text
