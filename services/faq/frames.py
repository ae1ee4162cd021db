"""Question frames (有没有, 怎么, 多少…): shipped as data, they weigh a fraction of a content term in coverage."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Final

import yaml

from services.text.normalize import normalize

# A frame token's share of its IDF weight. Not zero: between two entries that cover the same content, the one asked
# the same way ("多少钱" vs "怎么付") is still the better match; but content decides.
FRAME_WEIGHT: Final = 0.25
# Sentence particles: a bigram that ends in one ("全吗" in 安全吗) or starts with one ("吗能") straddles the frame.
PARTICLES: Final = frozenset("吗呢吧嘛啊呀哦啦了的么")


@cache
def frame_words() -> frozenset[str]:
    """The shipped frame list (services/faq/data/frames.yaml), normalised."""
    text = resources.files("services.faq").joinpath("data", "frames.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text) or []
    if not isinstance(data, list):
        raise ValueError("services/faq/data/frames.yaml: expected a list of words")
    return frozenset(w for w in (normalize(str(item)) for item in data) if w)


@cache
def frame_tokens() -> frozenset[str]:
    """Frame words plus every character unigram and bigram inside one: the tokens the scorer weighs down.

    A bigram that crosses from a frame into content ("么退" in 怎么退) is not in this set, so it keeps full weight.
    """
    out: set[str] = set()
    for word in frame_words():
        out.add(word)
        out.update(word)
        out.update(word[i : i + 2] for i in range(len(word) - 1))
    return frozenset(out)


def is_frame(token: str) -> bool:
    """A frame token: inside a frame word, or a character bigram with a sentence particle in it."""
    return token in frame_tokens() or (len(token) == 2 and (token[0] in PARTICLES or token[1] in PARTICLES))


def weight(token: str) -> float:
    """The factor on a token's IDF: FRAME_WEIGHT for frame tokens, 1 for content."""
    return FRAME_WEIGHT if is_frame(token) else 1.0
