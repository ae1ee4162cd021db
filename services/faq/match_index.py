"""The FAQ matcher's index for one KB revision: question variants, term IDF and the char and word BM25 indexes."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import bm25s
import numpy as np

from services.faq import frames, tokens
from services.faq.answer_evidence import AnswerEvidence
from services.faq.synonyms import SynonymMap
from services.faq.types import KbItem
from services.text.normalize import analyze

# bm25s logs every index build at DEBUG through its own logger; one build per KB revision needs no log lines.
logging.getLogger("bm25s").setLevel(logging.WARNING)
# How many variants the two BM25 indexes hand to the (slower, calibrated) scorer.
RETRIEVE: Final = 24


@dataclass(frozen=True, slots=True)
class Variant:
    """One way of asking an entry, as written in the KB and as the terms it was indexed with."""

    entry_id: str
    text: str  # as written in the KB
    chars: frozenset[str]
    words: frozenset[str]


def idf(df: int, n: int) -> float:
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def retrieval_terms(chars: frozenset[str]) -> frozenset[str]:
    return frozenset(t for t in chars if len(t) > 1 or t.isascii())


def _frame_weighted_idf(documents: list[frozenset[str]]) -> dict[str, float]:
    df: dict[str, int] = {}
    for terms in documents:
        for t in terms:
            df[t] = df.get(t, 0) + 1
    return {t: idf(count, len(documents)) * frames.weight(t) for t, count in df.items()}


class MatchIndex:
    """Built once per KB revision from the enabled entries (call `tokens.prepare` with the synonyms first)."""

    def __init__(self, items: Mapping[str, KbItem], synonyms: SynonymMap) -> None:
        variants: list[Variant] = []
        for item in items.values():
            seen: set[str] = set()
            for question in item.questions:
                plain = analyze(question).text
                # As the synonyms rewrite it, and as written: "几点关门" reads as 营业时间, yet a customer's "关门"
                # alone is not rewritten and must still find the words the manager wrote.
                for text in (synonyms.apply(plain), plain):
                    if text and text not in seen:
                        seen.add(text)
                        variants.append(
                            Variant(item.id, question, frozenset(tokens.chars(text)), frozenset(tokens.words(text)))
                        )
        self.variants: Final = variants
        self.entry_variants: dict[str, list[int]] = {}
        for i, v in enumerate(variants):
            self.entry_variants.setdefault(v.entry_id, []).append(i)
        self.answers: Final = AnswerEvidence(list(items.values()), synonyms.apply)
        # Every term of an entry's variants together: a query may mix the words of two ways of asking one thing.
        entry_chars: dict[str, set[str]] = {}
        entry_words: dict[str, set[str]] = {}
        for v in variants:
            entry_chars.setdefault(v.entry_id, set()).update(v.chars)
            entry_words.setdefault(v.entry_id, set()).update(v.words)
        self.entry_chars: Final = {k: frozenset(v) for k, v in entry_chars.items()}
        self.entry_words: Final = {k: frozenset(v) for k, v in entry_words.items()}
        # Question frames (有没有, 怎么…) weigh a fraction of their IDF: content words decide which entry is meant.
        self.char_idf: Final = _frame_weighted_idf([v.chars for v in variants])
        self.word_idf: Final = _frame_weighted_idf([v.words for v in variants])
        # A query term no variant has is as informative as the rarest known term: it is what the KB lacks.
        self.unknown_idf: Final = idf(0, max(len(variants), 1))
        self.char_mass: Final = [sum(self.char_idf[t] for t in v.chars) for v in variants]
        self.word_mass: Final = [sum(self.word_idf[t] for t in v.words) for v in variants]
        self.char_bm25: bm25s.BM25 | None = None
        self.word_bm25: bm25s.BM25 | None = None
        if variants:
            self.char_bm25 = bm25s.BM25()
            # Retrieval uses bigrams (and latin words) only: single characters such as 课 or 么 sit in thousands of
            # variants and would make every query walk long posting lists; the scorer still counts them.
            self.char_bm25.index([sorted(retrieval_terms(v.chars)) or [""] for v in variants], show_progress=False)
            self.word_bm25 = bm25s.BM25()
            self.word_bm25.index([sorted(v.words) or [""] for v in variants], show_progress=False)

    def retrieve(self, chars: frozenset[str], words: frozenset[str]) -> set[int]:
        """The variants worth scoring: the top of both BM25 indexes, and every variant of an answer-text hit."""
        if self.char_bm25 is None or self.word_bm25 is None:
            return set()
        fused = np.zeros(len(self.variants), dtype=np.float32)
        for index, weights, terms in (
            (self.char_bm25, self.char_idf, retrieval_terms(chars)),
            (self.word_bm25, self.word_idf, words),
        ):
            known = [t for t in terms if t in weights]
            if known:
                scores = index.get_scores(known)
                top = float(scores.max())
                if top > 0:
                    fused += scores / top
        picked: set[int] = set()
        if fused.any():
            k = min(RETRIEVE, len(fused))
            picked.update(int(i) for i in np.argpartition(-fused, k - 1)[:k] if fused[i] > 0)
        for entry in self.answers.retrieve(chars, words):
            picked.update(self.entry_variants.get(entry, ()))
        return picked

    def entry_terms(self, entry: str, exclude: int | None) -> tuple[frozenset[str], frozenset[str]]:
        """An entry's character and word terms; without variant `exclude` (leave-one-variant-out calibration)."""
        if exclude is None or self.variants[exclude].entry_id != entry:
            return self.entry_chars[entry], self.entry_words[entry]
        rest = [self.variants[j] for j in self.entry_variants[entry] if j != exclude]
        return frozenset().union(*(v.chars for v in rest)), frozenset().union(*(v.words for v in rest))
