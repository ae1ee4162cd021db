"""The offline FAQ matcher: char and word BM25 retrieval, then a calibrated coverage score with reasons."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from typing import Final

from services.faq import tokens
from services.faq.calibration import MAX_SAMPLES, Calibration
from services.faq.calibration import fit as fit_calibration
from services.faq.decision_bands import decide_bands
from services.faq.embedder import EmbedderError, EmbeddingIndex
from services.faq.gate import has_question_clause, is_addressed_chitchat, question_clauses
from services.faq.homophones import Homophones
from services.faq.local_embedder import LocalEmbedderMissing, VariantVectors, load_encoder
from services.faq.match_index import MatchIndex
from services.faq.match_scoring import Query, Scored, VariantScorer
from services.faq.match_settings import MatcherSettings
from services.faq.synonyms import SynonymMap, default_synonyms
from services.faq.types import Action, Decision, Embedder, KbItem
from services.text.intent import is_chitchat, needs_answer
from services.text.normalize import analyze

log = logging.getLogger(__name__)
# A short message with no question or request words can still be a topic ("课程回放", "发票"): it is matched, but
# only a statement marker makes it "not a question".
TOPIC_MAX_CHARS: Final = 8
_STATEMENT_MARKS: Final = ("了", "过", "我觉得", "我们", "今天", "昨天")
# A clause read without the rest of its message is a little less certain than the whole: on the development sets
# 1.0 let one more NONE case per 25 into a suggestion (dental_clinic 92 -> 88 % silent); 0.95 keeps every set's
# silence where it was and most of the gain (bench/RESULTS.md, "question clauses").
CLAUSE_DISCOUNT: Final = 0.95


class Matcher:
    """Built once per KB revision; `decide` is synchronous and CPU-only, `adecide` adds the optional embedder."""

    def __init__(
        self,
        items: Sequence[KbItem],
        settings: MatcherSettings,
        synonyms: SynonymMap | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.settings: Final = settings
        self.synonyms: Final = synonyms if synonyms is not None else default_synonyms(settings.synonyms)
        tokens.prepare(self.synonyms.terms)
        self._items: Final = {item.id: item for item in items if item.enabled}
        self._index: Final = MatchIndex(self._items, self.synonyms)
        self._homophones: Final = Homophones(
            frozenset().union(*self._index.entry_words.values(), self._index.answers.vocabulary())
        )
        texts = [v.text for v in self._index.variants]
        self.embedder_status = "on" if settings.local_embedder else "off"  # "missing": extra not installed
        self._scorer: Final = VariantScorer(
            self._index, settings, self._load_vectors(texts) if settings.local_embedder else None
        )
        self.calibration: Calibration = self._fit_calibration() if settings.per_kb_calibration else Calibration()
        # The raw similarities at the configured thresholds: where the embedder's lift cannot move a decision across
        # them, the query is not worth encoding.
        self._knots: Final = (self.calibration.raw_at(settings.suggest), self.calibration.raw_at(settings.answer))
        self._embeddings: Final = (
            EmbeddingIndex(
                embedder, texts, [v.entry_id for v in self._index.variants], settings.embedder_floor_quantile
            )
            if embedder is not None
            else None
        )

    def _load_vectors(self, texts: list[str]) -> VariantVectors | None:
        try:
            return VariantVectors(load_encoder(), texts)
        except LocalEmbedderMissing as exc:
            # An optional extra: without it the lexical matcher still decides, and says so once per KB revision.
            log.warning("faq local embedder unavailable, deciding on lexical scores only: %s", exc)
            self.embedder_status = "missing"
            return None

    def forget_query_vectors(self) -> None:
        """Drop the embedder's cached query vectors (benchmarks measure unseen questions; KB vectors are kept)."""
        if self._scorer.vectors is not None:
            self._scorer.vectors.forget_queries()

    def __len__(self) -> int:
        return len(self._items)

    def item(self, entry_id: str) -> KbItem | None:
        """The entry behind a candidate (its answer), or None when it is not in this build."""
        return self._items.get(entry_id)

    # --- the decision -------------------------------------------------------------------------------------------

    def decide(self, text: str) -> Decision:
        """Chit-chat and non-questions stay silent; otherwise the thresholds decide on the best entry."""
        gate = self._gate(text)
        if isinstance(gate, Decision):
            return gate
        return self._finish(gate, self._lexical(text, gate))

    async def adecide(self, text: str) -> Decision:
        """`decide`, with the embedder's cosine fused into the lexical score when one is configured."""
        gate = self._gate(text)
        if isinstance(gate, Decision):
            return gate
        scored = self._lexical(text, gate)
        if self._embeddings is not None and self._index.variants:
            try:
                cosines = await self._embeddings.cosines(text)
            except EmbedderError as exc:
                # The semantic scorer is an optional extra: without it the lexical decision still stands.
                log.warning("faq embedder unavailable, deciding on lexical scores only: %s", exc)
            else:
                scored = self._scorer.fuse(scored, cosines, self._embeddings.floor)
        return self._finish(gate, scored)

    def _lexical(self, text: str, query: Query) -> dict[str, Scored]:
        """Each entry's best lexical score for the whole message or for one of its question clauses.

        Customers wrap a question in context ("请问训练营的回放在哪里看？我上周有事没来"): scored whole, the context's
        words dilute a question that alone matches well (0.44 against 0.76 here), so each clause that asks something
        is scored on its own too, a little discounted (CLAUSE_DISCOUNT), and an entry keeps whichever reads it best.
        """
        scored = self._scorer.lexical(query, knots=self._knots)
        for clause in question_clauses(text):
            clause_query = self._query(self.synonyms.apply(analyze(clause).text))
            for entry, sc in self._scorer.lexical(clause_query, knots=self._knots).items():
                read = dataclasses.replace(
                    sc, similarity=sc.similarity * CLAUSE_DISCOUNT, question=sc.question * CLAUSE_DISCOUNT
                )
                if entry not in scored or read.similarity > scored[entry].similarity:
                    scored[entry] = read
        return scored

    def _finish(self, query: Query, scored: dict[str, Scored]) -> Decision:
        return decide_bands(self._index, self.settings, self.calibration, query.normalized, scored)

    def _gate(self, text: str) -> Query | Decision:
        info = analyze(text)
        normalized = self.synonyms.apply(info.text)
        if is_chitchat(text) or is_addressed_chitchat(text):
            return Decision(Action.SILENT, 0.0, "chitchat", normalized=normalized)
        if not needs_answer(text) and not has_question_clause(text) and not self._is_topic(info.text):
            return Decision(Action.SILENT, 0.0, "not_question", normalized=normalized)
        return self._query(normalized)

    def _query(self, normalized: str) -> Query:
        """A normalized text as the scorer reads it, pinyin slips repaired (the whole message, or one clause)."""
        return self._scorer.query(self._homophones.repair(normalized))

    @staticmethod
    def _is_topic(text: str) -> bool:
        compact = text.replace(" ", "")
        return 0 < len(compact) <= TOPIC_MAX_CHARS and not any(mark in compact for mark in _STATEMENT_MARKS)

    def _fit_calibration(self) -> Calibration:
        """Leave-one-variant-out over (a spread sample of) the KB's variants: near misses and true paraphrases."""
        variants = self._index.variants
        step = max(1, len(variants) // MAX_SAMPLES)
        near_misses: list[float] = []
        paraphrases: list[float] = []
        for i in range(0, len(variants), step):
            variant = variants[i]
            query = self._scorer.query(self.synonyms.apply(analyze(variant.text).text))
            scored = self._scorer.lexical(query, exclude=i, semantic=False)
            near_misses.append(max((s.similarity for e, s in scored.items() if e != variant.entry_id), default=0.0))
            if len(self._index.entry_variants[variant.entry_id]) > 1:
                own = scored.get(variant.entry_id)
                paraphrases.append(own.similarity if own is not None else 0.0)
        return fit_calibration(near_misses, paraphrases)


def build_matcher(items: Sequence[KbItem], settings: MatcherSettings, embedder: Embedder | None = None) -> Matcher:
    """Build the indexes for one KB revision (CPU-bound: call `build_matcher_async` from the event loop)."""
    return Matcher(items, settings, embedder=embedder)


async def build_matcher_async(
    items: Sequence[KbItem], settings: MatcherSettings, embedder: Embedder | None = None
) -> Matcher:
    """`build_matcher` in the default executor, so loading jieba and indexing 10k entries never stall the loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, build_matcher, list(items), settings, embedder)
