"""Answer-text evidence: an entry's answer words as a weak extra field ("有毛巾吗" -> an answer naming 毛巾)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import bm25s
import numpy as np

from services.faq import frames, tokens
from services.faq.types import KbItem
from services.text.normalize import analyze

# How many entries the answer index adds to the retrieved set: a fact only the answer states must reach the scorer.
RETRIEVE_ENTRIES: Final = 6


@dataclass(frozen=True, slots=True)
class AnswerTerms:
    chars: frozenset[str]
    words: frozenset[str]


class AnswerEvidence:
    """Per entry, its answer's character bigrams and words; each term weighed by how few answers carry it."""

    def __init__(self, items: Sequence[KbItem], rewrite: Callable[[str], str]) -> None:
        self._entries: Final = [item.id for item in items]
        self._terms: Final = {
            item.id: AnswerTerms(
                frozenset(t for t in tokens.chars(text) if len(t) > 1 and not frames.is_frame(t)),
                frozenset(w for w in tokens.words(text) if not frames.is_frame(w)),
            )
            for item in items
            for text in (rewrite(analyze(item.answer).text),)
        }
        n = max(len(items), 1)
        df: dict[str, int] = {}
        for terms in self._terms.values():
            for t in terms.chars | terms.words:
                df[t] = df.get(t, 0) + 1
        # 1 for a term one answer carries, towards 0 for a term most answers carry (门店, 可以...).
        top = math.log(1.0 + n)
        self._rarity: Final = {t: math.log(1.0 + n / d) / top for t, d in df.items()}
        self._index: bm25s.BM25 | None = None
        if items:
            self._index = bm25s.BM25()
            docs = [sorted(self._terms[e].chars | self._terms[e].words) or [""] for e in self._entries]
            self._index.index(docs, show_progress=False)

    def retrieve(self, chars: frozenset[str], words: frozenset[str]) -> list[str]:
        """The entries whose answers share the most (rare) terms with the query, best first."""
        if self._index is None:
            return []
        known = [t for t in chars | words if t in self._rarity and (len(t) > 1 or not t.isascii())]
        if not known:
            return []
        scores = self._index.get_scores(known)
        k = min(RETRIEVE_ENTRIES, len(scores))
        picked = np.argpartition(-scores, k - 1)[:k]
        return [self._entries[int(i)] for i in picked if scores[int(i)] > 0]

    def share(
        self, entry: str, terms: frozenset[str], weights: Mapping[str, float], known: frozenset[str], chars: bool
    ) -> tuple[float, frozenset[str]]:
        """The IDF share of the query's content terms that only the entry's answer explains (not its questions)."""
        answer = self._terms.get(entry)
        if answer is None:
            return 0.0, frozenset()
        pool = answer.chars if chars else answer.words
        total = explained = 0.0
        hits: set[str] = set()
        for t in terms:
            if frames.is_frame(t) or (chars and len(t) < 2):
                continue
            total += weights[t]
            if t in pool and t not in known:
                explained += weights[t] * self._rarity.get(t, 0.0)
                hits.add(t)
        return (explained / total if total else 0.0), frozenset(hits)
