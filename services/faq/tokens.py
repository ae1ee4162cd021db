"""Tokens for the two BM25 indexes: character uni/bigrams (robust to typos) and jieba words (precise)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Final

import jieba

# Function words that say nothing about which entry is meant; kept out of the word index and of coverage.
STOPWORDS: Final = frozenset(
    [
        "的",
        "了",
        "吗",
        "呢",
        "啊",
        "吧",
        "呀",
        "哦",
        "哈",
        "嘛",
        "么",
        "啦",
        "哇",
        "嗯",
        "喔",
        "噢",
        "诶",
        "额",
        "呗",
        "之",
        "着",
        "过",
        "地",
        "得",
        "和",
        "与",
        "及",
        "或",
        "也",
        "都",
        "就",
        "还",
        "又",
        "再",
        "才",
        "很",
        "太",
        "挺",
        "请问",
        "请",
        "问下",
        "问一下",
        "问问",
        "一下",
        "麻烦",
        "亲",
        "您好",
        "你好",
        "在吗",
        "老师好",
        "我",
        "你",
        "您",
        "他",
        "她",
        "它",
        "我们",
        "你们",
        "咱们",
        "他们",
        "这",
        "那",
        "这个",
        "那个",
        "这边",
        "那边",
        "是",
        "在",
        "有",
        "没",
        "没有",
        "要",
        "会",
        "能",
        "可以",
        "想",
        "想问",
        "一个",
        "一些",
        "现在",
        "还有",
        "然后",
        "就是",
        "那么",
        "这么",
        "那种",
        "一般",
        "好",
    ]
)
_CJK_RUN: Final = re.compile(r"[\u3400-\u9fff]+|[a-z0-9]+")
_lock: Final = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_added: set[str] = set()


def _jieba() -> jieba.Tokenizer:
    """The process's jieba tokenizer, its dictionary loaded once (call from an executor the first time)."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict" lines on stderr
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                _tokenizer = tokenizer
    return _tokenizer


def prepare(words: Iterable[str]) -> None:
    """Load the dictionary and teach it domain words (synonym canonicals) so they stay whole."""
    tokenizer = _jieba()
    with _lock:
        for word in words:
            if word not in _added and len(word) >= 2 and _CJK_RUN.fullmatch(word):
                tokenizer.add_word(word, freq=20000)
                _added.add(word)


def segment(text: str) -> list[str]:
    """jieba's segmentation of normalised text, every piece kept (spaces and function words too)."""
    return list(_jieba().lcut(text, HMM=False))


def words(text: str) -> list[str]:
    """jieba words of normalised text, without spaces and function words."""
    return [w for w in _jieba().lcut(text, HMM=False) if w.strip() and w not in STOPWORDS]


def chars(text: str) -> list[str]:
    """Character unigrams and bigrams of each CJK run; latin words and numbers whole."""
    out: list[str] = []
    for run in _CJK_RUN.findall(text):
        if not ("\u3400" <= run[0] <= "\u9fff"):
            out.append(run)
            continue
        out.extend(run)
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out
