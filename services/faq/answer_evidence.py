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
    text: str  # normalised, synonyms applied: a query word counts when it occurs anywhere in it (充电 in 充电桩)
    chars: frozenset[str]  # character bigrams, for retrieval and for rarity
    words: frozenset[str]


class AnswerEvidence:
    """Per entry, its answer's text, bigrams and words; a query word weighs by how few answers contain it."""

    def __init__(self, items: Sequence[KbItem], rewrite: Callable[[str], str]) -> None:
        self._entries: Final = [item.id for item in items]
        self._terms: Final = {
            item.id: AnswerTerms(
                text.replace(" ", ""),
                frozenset(t for t in tokens.chars(text) if len(t) > 1),
                frozenset(tokens.words(text)),
            )
            for item in items
            for text in (rewrite(analyze(item.answer).text),)
        }
        self._n: Final = max(len(items), 1)
        df: dict[str, int] = {}
        for terms in self._terms.values():
            for t in terms.chars | terms.words:
                df[t] = df.get(t, 0) + 1
        self._df: Final = df
        self._index: bm25s.BM25 | None = None
        if items:
            self._index = bm25s.BM25()
            docs = [sorted(self._terms[e].chars | self._terms[e].words) or [""] for e in self._entries]
            self._index.index(docs, show_progress=False)

    def vocabulary(self) -> frozenset[str]:
        """Every word of every answer."""
        return frozenset().union(*(terms.words for terms in self._terms.values()))

    def rarity(self, word: str) -> float:
        """1 for a word one answer contains, towards 0 for one most answers contain (门店, 可以...).

        How many answers contain a longer word is bounded by its rarest bigram's count: no scan over the answers.
        """
        grams = [word] if len(word) <= 2 or word in self._df else [word[i : i + 2] for i in range(len(word) - 1)]
        count = min((self._df.get(g, 0) for g in grams), default=0)
        return math.log(1.0 + self._n / max(count, 1)) / math.log(1.0 + self._n)

    def retrieve(self, chars: frozenset[str], words: frozenset[str]) -> list[str]:
        """The entries whose answers share the most (rare) terms with the query, best first."""
        if self._index is None:
            return []
        known = [t for t in chars | words if t in self._df and len(t) > 1 and not frames.is_frame(t)]
        if not known:
            return []
        scores = self._index.get_scores(known)
        k = min(RETRIEVE_ENTRIES, len(scores))
        picked = np.argpartition(-scores, k - 1)[:k]
        return [self._entries[int(i)] for i in picked if scores[int(i)] > 0]

    def share(
        self, entry: str, terms: frozenset[str], weights: Mapping[str, float], known: frozenset[str], chars: bool
    ) -> tuple[float, frozenset[str]]:
        """The IDF share of the query's content terms (words, or character bigrams) that only the entry's answer
        contains, not its questions; each weighed by its rarity among the answers."""
        answer = self._terms.get(entry)
        if answer is None:
            return 0.0, frozenset()
        total = explained = 0.0
        hits: set[str] = set()
        for t in terms:
            if frames.is_frame(t) or (chars and len(t) < 2):
                continue
            total += weights[t]
            if t not in known and (t in answer.chars if chars else t in answer.words):
                explained += weights[t] * self.rarity(t)
                hits.add(t)
        return (explained / total if total else 0.0), frozenset(hits)
