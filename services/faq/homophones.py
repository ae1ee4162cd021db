"""Typo repair by sound: a two-character slip ("预越", "寄样") read as the KB word that sounds alike ("预约").

Customers type pinyin and pick the wrong candidate. A slip shows up as two characters jieba cannot join into a word
(each stands alone) that no KB text contains; when exactly one two-character word of this KB's questions or answers
has the same toneless pinyin, the query reads it as that word. General (pypinyin's dictionary), nothing per domain.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from pypinyin import lazy_pinyin

from services.faq import frames, tokens

# Numerals and amounts ("大一码", "两天") stand alone in jieba's segmentation without being slips.
_NUMERALS: Final = frozenset("零一二两三四五六七八九十百千万半几")


def _cjk(text: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in text)


def _usable(word: str) -> bool:
    return len(word) == 2 and _cjk(word) and word not in tokens.STOPWORDS and not frames.is_frame(word)


class Homophones:
    """Built once per KB revision from the words of its questions and answers."""

    def __init__(self, kb_words: Iterable[str]) -> None:
        self._known: Final = frozenset(w for w in kb_words if len(w) == 2 and _cjk(w))
        by_sound: dict[tuple[str, ...], set[str]] = {}
        for word in self._known:
            if _usable(word):
                by_sound.setdefault(tuple(lazy_pinyin(word)), set()).add(word)
        # Only an unambiguous sound repairs: two KB words that sound alike leave the slip as typed.
        self._by_sound: Final = {sound: next(iter(ws)) for sound, ws in by_sound.items() if len(ws) == 1}

    def repair(self, text: str) -> str:
        """`text` (normalised) with each slip replaced by the one KB word that sounds like it."""
        if not self._by_sound:
            return text
        pieces = tokens.segment(text)
        out: list[str] = []
        i = 0
        while i < len(pieces):
            pair = pieces[i] + pieces[i + 1] if i + 1 < len(pieces) else ""
            if len(pair) == 2 and self._is_slip(pieces[i], pieces[i + 1]):
                word = self._by_sound.get(tuple(lazy_pinyin(pair)))
                if word is not None:
                    out.append(word)
                    i += 2
                    continue
            out.append(pieces[i])
            i += 1
        return "".join(out)

    def _is_slip(self, first: str, second: str) -> bool:
        pair = first + second
        return (
            _cjk(pair)
            and pair not in self._known
            and first not in tokens.STOPWORDS
            and second not in tokens.STOPWORDS
            and not (_NUMERALS & set(pair))
        )
