"""What a customer message is: a question, a request, or chit-chat that needs no answer (first cut; FAQ refines)."""

from __future__ import annotations

import re
from typing import Final

_QUESTION_MARKS: Final = re.compile(r"[?？]")
_QUESTION_WORDS: Final = re.compile(
    r"(吗|么|嘛|呢|什么|怎么|怎样|如何|为什么|为啥|几点|几号|多少|多久|哪里|哪儿|哪个|是否|能不能|可不可以|有没有|是不是|咋)"
)
_REQUEST_WORDS: Final = re.compile(r"(请|麻烦|帮我|帮忙|需要|想要|我要|给我|退货|退款|换货|开票|发票|投诉|人工|客服)")
_CHITCHAT: Final = frozenset(
    {
        "好的",
        "好",
        "嗯",
        "嗯嗯",
        "收到",
        "谢谢",
        "谢谢你",
        "多谢",
        "感谢",
        "哈哈",
        "哈哈哈",
        "ok",
        "OK",
        "好滴",
        "👍",
        "早",
        "早上好",
        "晚安",
    }
)


def is_chitchat(text: str) -> bool:
    stripped = text.strip(" \t\r\n。！!~～，,.")
    return not stripped or stripped in _CHITCHAT


def is_question(text: str) -> bool:
    return not is_chitchat(text) and bool(_QUESTION_MARKS.search(text) or _QUESTION_WORDS.search(text))


def needs_answer(text: str) -> bool:
    """A question or a request: something a person (or the bot) should answer."""
    return not is_chitchat(text) and (is_question(text) or bool(_REQUEST_WORDS.search(text)))
