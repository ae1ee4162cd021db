"""The offline FAQ matcher: char and word BM25 retrieval, then a calibrated coverage score with reasons."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import bm25s
import numpy as np
import numpy.typing as npt

from services.faq import frames, tokens
from services.faq.answer_evidence import AnswerEvidence
from services.faq.calibration import DEFAULT_KNOTS, MAX_SAMPLES, Calibration
from services.faq.calibration import fit as fit_calibration
from services.faq.embedder import EmbedderError, EmbeddingIndex, fuse
from services.faq.gate import has_question_clause, is_addressed_chitchat
from services.faq.local_embedder import LocalEmbedderMissing, VariantVectors, load_encoder
from services.faq.synonyms import SynonymMap, default_synonyms
from services.faq.types import Action, Candidate, Decision, Embedder, KbItem
from services.text.intent import is_chitchat, needs_answer
from services.text.normalize import analyze

log = logging.getLogger(__name__)
# bm25s logs every index build at DEBUG through its own logger; one build per KB revision needs no log lines.
logging.getLogger("bm25s").setLevel(logging.WARNING)
# How many variants the two BM25 indexes hand to the (slower, calibrated) scorer.
RETRIEVE: Final = 24
# A short message with no question or request words can still be a topic ("课程回放", "发票"): it is matched, but
# only a statement marker makes it "not a question".
TOPIC_MAX_CHARS: Final = 8
_STATEMENT_MARKS: Final = ("了", "过", "我觉得", "我们", "今天", "昨天")
# The default knots, raw similarity -> confidence (a KB too small to calibrate on its own keeps them).
CALIBRATION: Final = DEFAULT_KNOTS


@dataclass(frozen=True, slots=True)
class MatcherSettings:
    """Thresholds and knobs; config `faq.*` maps onto these (bot/config/faq.py FaqSettings)."""

    answer: float = 0.72  # at or above: the bot answers
    suggest: float = 0.5  # at or above (and below `answer`): a rep gets a suggested reply
    synonyms: Mapping[str, Sequence[str]] = field(default_factory=dict)  # canonical -> variants, on top of defaults
    top_k: int = 3  # candidates returned in a decision
    embedder_weight: float = 0.35  # share of the embedder's cosine in the fused score, when an embedder is set
    # The calibrated score: word vs character evidence, and how much a near tie with another entry costs.
    word_weight: float = 0.5
    margin_scale: float = 0.12
    tie_penalty: float = 0.3
    # A confident answer needs this IDF share of the query's content words (frames aside) explained by the entry;
    # below it the bot may suggest, never answer: an unknown "X" in "有没有X" is what the customer asks about.
    min_content: float = 0.4
    # Answer-text evidence (services/faq/answer_evidence.py): the share of the query only the answer explains adds
    # this much similarity; on its own it can lift an entry into "suggest", never into "answer".
    answer_weight: float = 0.65
    # Place the raw-score knots from this KB's own variants (services/faq/calibration.py); off: the default knots.
    per_kb_calibration: bool = True
    # The in-process embedder (services/faq/local_embedder.py, the `embed` extra), off by default: over the retrieved
    # entries, a cosine above `embed_floor` adds up to `embed_weight` similarity; alone it never makes the bot answer.
    local_embedder: bool = False
    embed_weight: float = 0.1  # set on pet_shop/dental_clinic: higher weights or lower floors cost the
    embed_floor: float = 0.55  # older sets' silence below 90 %

    def __post_init__(self) -> None:
        if not 0 <= self.suggest <= self.answer <= 1:
            raise ValueError("thresholds: expected 0 <= suggest <= answer <= 1")
        if self.top_k < 1:
            raise ValueError("top_k: expected at least 1")
        if not 0 <= self.embedder_weight <= 1:
            raise ValueError("embedder_weight: expected 0..1")


@dataclass(frozen=True, slots=True)
class _Variant:
    entry_id: str
    text: str  # as written in the KB
    chars: frozenset[str]
    words: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Query:
    normalized: str
    chars: frozenset[str]
    words: frozenset[str]
    char_mass: float  # the IDF weight of all the query's terms (unknown ones at the rarest weight)
    word_mass: float
    char_idf: Mapping[str, float]  # each term's weight (frames weighed down, unknown terms at the rarest weight)
    word_idf: Mapping[str, float]


@dataclass(slots=True)
class _Scored:
    """The best variant of one entry for a query and its similarity, with the terms they share."""

    variant: int
    similarity: float
    shared_words: frozenset[str] = frozenset()
    shared_chars: frozenset[str] = frozenset()
    content: float = 1.0  # the IDF share of the query's content words the entry explains
    question: float = 0.0  # the similarity from the entry's questions alone (before answer or embedder evidence)
    answer_lift: float = 0.0  # what the answer text added
    answer_terms: frozenset[str] = frozenset()
    embed_lift: float = 0.0  # what the in-process embedder added


def _idf(df: int, n: int) -> float:
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


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
        variants: list[_Variant] = []
        for item in self._items.values():
            seen: set[str] = set()
            for question in item.questions:
                text = self.synonyms.apply(analyze(question).text)
                if text and text not in seen:
                    seen.add(text)
                    variants.append(
                        _Variant(item.id, question, frozenset(tokens.chars(text)), frozenset(tokens.words(text)))
                    )
        self._variants: Final = variants
        self._entry_variants: dict[str, list[int]] = {}
        for i, v in enumerate(variants):
            self._entry_variants.setdefault(v.entry_id, []).append(i)
        self._answers: Final = AnswerEvidence(list(self._items.values()), self.synonyms.apply)
        # Every term of an entry's variants together: a query may mix the words of two ways of asking one thing.
        entry_chars: dict[str, set[str]] = {}
        entry_words: dict[str, set[str]] = {}
        for v in variants:
            entry_chars.setdefault(v.entry_id, set()).update(v.chars)
            entry_words.setdefault(v.entry_id, set()).update(v.words)
        self._entry_chars: Final = {k: frozenset(v) for k, v in entry_chars.items()}
        self._entry_words: Final = {k: frozenset(v) for k, v in entry_words.items()}
        n = len(variants)
        char_df: dict[str, int] = {}
        word_df: dict[str, int] = {}
        for v in variants:
            for t in v.chars:
                char_df[t] = char_df.get(t, 0) + 1
            for t in v.words:
                word_df[t] = word_df.get(t, 0) + 1
        # Question frames (有没有, 怎么…) weigh a fraction of their IDF: content words decide which entry is meant.
        self._char_idf: Final = {t: _idf(df, n) * frames.weight(t) for t, df in char_df.items()}
        self._word_idf: Final = {t: _idf(df, n) * frames.weight(t) for t, df in word_df.items()}
        # A query term no variant has is as informative as the rarest known term: it is what the KB lacks.
        self._unknown_idf: Final = _idf(0, max(n, 1))
        self._char_mass: Final = [sum(self._char_idf[t] for t in v.chars) for v in variants]
        self._word_mass: Final = [sum(self._word_idf[t] for t in v.words) for v in variants]
        self._char_bm25: bm25s.BM25 | None = None
        self._word_bm25: bm25s.BM25 | None = None
        if n:
            self._char_bm25 = bm25s.BM25()
            # Retrieval uses bigrams (and latin words) only: single characters such as 课 or 么 sit in thousands of
            # variants and would make every query walk long posting lists; the scorer still counts them.
            self._char_bm25.index([sorted(_retrieval_terms(v.chars)) or [""] for v in variants], show_progress=False)
            self._word_bm25 = bm25s.BM25()
            self._word_bm25.index([sorted(v.words) or [""] for v in variants], show_progress=False)
        self.embedder_status = "on" if settings.local_embedder else "off"  # "missing": extra not installed
        self._vectors: Final = self._load_vectors([v.text for v in variants]) if settings.local_embedder else None
        self.calibration: Calibration = self._fit_calibration() if settings.per_kb_calibration else Calibration()
        self._embeddings: Final = EmbeddingIndex(embedder, [v.text for v in variants]) if embedder is not None else None

    def _load_vectors(self, texts: list[str]) -> VariantVectors | None:
        try:
            return VariantVectors(load_encoder(), texts)
        except LocalEmbedderMissing as exc:
            # An optional extra: without it the lexical matcher still decides, and says so once per KB revision.
            log.warning("faq local embedder unavailable, deciding on lexical scores only: %s", exc)
            self.embedder_status = "missing"
            return None

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
        return self._finish(gate, self._lexical(gate))

    async def adecide(self, text: str) -> Decision:
        """`decide`, with the embedder's cosine fused into the lexical score when one is configured."""
        gate = self._gate(text)
        if isinstance(gate, Decision):
            return gate
        scored = self._lexical(gate)
        if self._embeddings is not None and self._variants:
            try:
                cosines = await self._embeddings.cosines(text)
            except EmbedderError as exc:
                # The semantic scorer is an optional extra: without it the lexical decision still stands.
                log.warning("faq embedder unavailable, deciding on lexical scores only: %s", exc)
            else:
                scored = self._fuse(scored, cosines)
        return self._finish(gate, scored)

    def _gate(self, text: str) -> _Query | Decision:
        info = analyze(text)
        normalized = self.synonyms.apply(info.text)
        if is_chitchat(text) or is_addressed_chitchat(text):
            return Decision(Action.SILENT, 0.0, "chitchat", normalized=normalized)
        if not needs_answer(text) and not has_question_clause(text) and not self._is_topic(info.text):
            return Decision(Action.SILENT, 0.0, "not_question", normalized=normalized)
        return self._query(normalized)

    def _query(self, normalized: str) -> _Query:
        chars = frozenset(tokens.chars(normalized))
        words = frozenset(tokens.words(normalized))
        unknown = self._unknown_idf
        char_idf = {t: self._char_idf.get(t, unknown * frames.weight(t)) for t in chars}
        word_idf = {t: self._word_idf.get(t, unknown * frames.weight(t)) for t in words}
        return _Query(normalized, chars, words, sum(char_idf.values()), sum(word_idf.values()), char_idf, word_idf)

    @staticmethod
    def _is_topic(text: str) -> bool:
        compact = text.replace(" ", "")
        return 0 < len(compact) <= TOPIC_MAX_CHARS and not any(mark in compact for mark in _STATEMENT_MARKS)

    def _fit_calibration(self) -> Calibration:
        """Leave-one-variant-out over (a spread sample of) the KB's variants: near misses and true paraphrases."""
        step = max(1, len(self._variants) // MAX_SAMPLES)
        near_misses: list[float] = []
        paraphrases: list[float] = []
        for i in range(0, len(self._variants), step):
            variant = self._variants[i]
            query = self._query(self.synonyms.apply(analyze(variant.text).text))
            scored = self._lexical(query, exclude=i, semantic=False)
            near_misses.append(max((s.similarity for e, s in scored.items() if e != variant.entry_id), default=0.0))
            if len(self._entry_variants[variant.entry_id]) > 1:
                own = scored.get(variant.entry_id)
                paraphrases.append(own.similarity if own is not None else 0.0)
        return fit_calibration(near_misses, paraphrases)

    def _lexical(self, query: _Query, exclude: int | None = None, semantic: bool = True) -> dict[str, _Scored]:
        """Retrieve with both BM25 indexes, then score the retrieved variants; the best variant per entry."""
        if self._char_bm25 is None or self._word_bm25 is None:
            return {}
        fused = np.zeros(len(self._variants), dtype=np.float32)
        for index, idf, terms in (
            (self._char_bm25, self._char_idf, _retrieval_terms(query.chars)),
            (self._word_bm25, self._word_idf, query.words),
        ):
            known = [t for t in terms if t in idf]
            if known:
                scores = index.get_scores(known)
                top = float(scores.max())
                if top > 0:
                    fused += scores / top
        picked: set[int] = set()
        if fused.any():
            k = min(RETRIEVE, len(fused))
            picked.update(int(i) for i in np.argpartition(-fused, k - 1)[:k] if fused[i] > 0)
        for entry in self._answers.retrieve(query.chars, query.words):
            picked.update(self._entry_variants.get(entry, ()))
        best: dict[str, _Scored] = {}
        picked.discard(-1 if exclude is None else exclude)
        for i in picked:
            scored = self._score(query, int(i), exclude)
            current = best.get(self._variants[int(i)].entry_id)
            if current is None or scored.similarity > current.similarity:
                best[self._variants[int(i)].entry_id] = scored
        if semantic and self._vectors is not None and best:
            self._add_embedding(query, best, picked)
        return best

    def _add_embedding(self, query: _Query, best: dict[str, _Scored], picked: set[int]) -> None:
        """Additive, over the retrieved variants only: each entry's best cosine above the floor lifts its score."""
        assert self._vectors is not None
        s = self.settings
        cosines = self._vectors.cosines(self._vectors.embed(query.normalized), picked)
        top: dict[str, float] = {}
        for i, cosine in cosines.items():
            entry = self._variants[i].entry_id
            top[entry] = max(top.get(entry, -1.0), cosine)
        for entry, scored in best.items():
            lift = s.embed_weight * max(0.0, top.get(entry, 0.0) - s.embed_floor) / (1.0 - s.embed_floor)
            scored.similarity += lift
            scored.embed_lift = lift

    @staticmethod
    def _coverage(
        query_terms: frozenset[str],
        query_mass: float,
        variant_terms: frozenset[str],
        entry_terms: frozenset[str],
        idf: Mapping[str, float],
        variant_mass: float,
    ) -> tuple[float, float, frozenset[str]]:
        """IDF-weighted share of the query the entry covers, and of the variant the query covers."""
        shared = query_terms & variant_terms
        shared_mass = sum(idf[t] for t in shared)
        explained = sum(idf[t] for t in query_terms & entry_terms)
        q_cov = explained / query_mass if query_mass else 0.0
        v_cov = shared_mass / variant_mass if variant_mass else 0.0
        return q_cov, v_cov, shared

    def _entry_terms(self, entry: str, exclude: int | None) -> tuple[frozenset[str], frozenset[str]]:
        """An entry's character and word terms; without variant `exclude` (leave-one-variant-out calibration)."""
        if exclude is None or self._variants[exclude].entry_id != entry:
            return self._entry_chars[entry], self._entry_words[entry]
        rest = [self._variants[j] for j in self._entry_variants[entry] if j != exclude]
        return frozenset().union(*(v.chars for v in rest)), frozenset().union(*(v.words for v in rest))

    def _score(self, query: _Query, i: int, exclude: int | None = None) -> _Scored:
        variant = self._variants[i]
        entry = variant.entry_id
        entry_chars, entry_words = self._entry_terms(entry, exclude)
        cq, cv, shared_chars = self._coverage(
            query.chars, query.char_mass, variant.chars, entry_chars, self._char_idf, self._char_mass[i]
        )
        wq, wv, shared_words = self._coverage(
            query.words, query.word_mass, variant.words, entry_words, self._word_idf, self._word_mass[i]
        )
        char_sim = _blend(cq, cv)
        word_sim = _blend(wq, wv) if variant.words and query.words else char_sim
        w = self.settings.word_weight
        similarity = (1 - w) * char_sim + w * word_sim
        if query.words:
            content = _content_share(query.words, query.word_idf, entry_words)
        else:
            content = _content_share(query.chars, query.char_idf, entry_chars)
        char_share, char_hits = self._answers.share(entry, query.chars, query.char_idf, entry_chars, True)
        word_share, hits = self._answers.share(entry, query.words, query.word_idf, entry_words, False)
        lift = self.settings.answer_weight * ((1 - w) * char_share + w * (word_share if query.words else char_share))
        hits = hits or char_hits
        return _Scored(i, similarity + lift, shared_words, shared_chars, content, similarity, lift, hits)

    def _matched_terms(self, scored: _Scored) -> tuple[str, ...]:
        """The reasons: shared words, rarest first; shared character bigrams when no whole word matched."""
        if scored.shared_words:
            return tuple(sorted(scored.shared_words, key=lambda t: (-self._word_idf[t], t)))
        bigrams = sorted((t for t in scored.shared_chars if len(t) > 1), key=lambda t: (-self._char_idf[t], t))
        return tuple(bigrams[:5])

    def _fuse(self, scored: dict[str, _Scored], cosines: npt.NDArray[np.float32]) -> dict[str, _Scored]:
        """Blend each entry's lexical similarity with its best variant's cosine; the embedder may add entries."""
        weight = self.settings.embedder_weight
        best_cos: dict[str, tuple[float, int]] = {}
        for i, value in enumerate(cosines.tolist()):
            entry = self._variants[i].entry_id
            if entry not in best_cos or value > best_cos[entry][0]:
                best_cos[entry] = (value, i)
        out: dict[str, _Scored] = {}
        for entry, (cosine, i) in best_cos.items():
            lexical = scored.get(entry)
            base = lexical.similarity if lexical is not None else 0.0
            fused = fuse(base, cosine, weight)
            if lexical is None and fused <= 0:
                continue
            if lexical is None:
                out[entry] = _Scored(i, fused)
            else:
                out[entry] = dataclasses.replace(lexical, similarity=fused)
        return out

    def _candidate(self, entry: str, sc: _Scored, confidence: float, held: str) -> Candidate:
        return Candidate(
            entry,
            round(confidence, 4),
            self._variants[sc.variant].text,
            self._matched_terms(sc),
            question_score=round(sc.question, 4),
            answer_text_score=round(sc.answer_lift, 4),
            embedder_score=round(sc.embed_lift, 4),
            answer_terms=tuple(sorted(sc.answer_terms)),
            held_below_answer=held,
        )

    def _finish(self, query: _Query, scored: dict[str, _Scored]) -> Decision:
        if not scored:
            return Decision(Action.SILENT, 0.0, "no_match", normalized=query.normalized)
        ranked = sorted(scored.items(), key=lambda kv: -kv[1].similarity)
        s = self.settings
        candidates = []
        for rank, (entry, sc) in enumerate(ranked[: s.top_k]):
            rival = ranked[1][1].similarity if rank == 0 and len(ranked) > 1 else ranked[0][1].similarity
            if rank == 0 and len(ranked) == 1:
                rival = 0.0
            margin = sc.similarity - rival
            confidence = _tie_adjusted(self.calibration.confidence(sc.similarity), margin, s)
            held = ""
            if _tie_adjusted(self.calibration.confidence(sc.question), margin, s) < s.answer:
                # Answer-text (or embedder) evidence may lift an entry into "suggest", never into "answer".
                held = "weak_evidence_only" if confidence >= s.answer else ""
                confidence = min(confidence, max(0.0, s.answer - _CAP_STEP))
            if sc.content < s.min_content:
                # Rounded confidences are compared with the threshold: stay a clear step below it.
                held = held or ("uncovered_content" if confidence >= s.answer else "")
                confidence = min(confidence, max(0.0, s.answer - _CAP_STEP))
            candidates.append(self._candidate(entry, sc, confidence, held))
        top = candidates[0].confidence
        if top >= s.answer:
            action, reason = Action.ANSWER, "confident"
        elif top >= s.suggest:
            action, reason = Action.SUGGEST, "between_thresholds"
        else:
            action, reason = Action.SILENT, "low_score"
        return Decision(action, top, reason, tuple(candidates), query.normalized)


def _tie_adjusted(confidence: float, margin: float, s: MatcherSettings) -> float:
    """A near tie with another entry means the KB cannot tell them apart: less confident, not more.

    Only the part above the suggest threshold shrinks (all of it at an exact tie, `tie_penalty` of the whole at a
    margin of `margin_scale`): a strong match that ties is handed to a rep with both candidates, a weak one is
    not lifted, and a tie can never make the bot answer.
    """
    closeness = max(0.0, 1.0 - max(0.0, margin) / s.margin_scale)
    if confidence <= s.suggest:
        return max(0.0, confidence * (1.0 - s.tie_penalty * closeness))
    above = (confidence - s.suggest) * (1.0 - closeness)
    return min(1.0, s.suggest + above * (1.0 - s.tie_penalty * closeness))


# How far below the answer threshold a capped confidence sits (confidences are rounded to 4 places).
_CAP_STEP: Final = 0.001


def _content_share(terms: frozenset[str], weights: Mapping[str, float], entry_terms: frozenset[str]) -> float:
    """The IDF share of the query's content (non-frame) terms that the entry's variants contain; 1 with none."""
    total = explained = 0.0
    for t in terms:
        if frames.is_frame(t):
            continue
        total += weights[t]
        if t in entry_terms:
            explained += weights[t]
    return explained / total if total else 1.0


def _retrieval_terms(chars: frozenset[str]) -> frozenset[str]:
    return frozenset(t for t in chars if len(t) > 1 or t.isascii())


def calibrate(similarity: float) -> float:
    """Map a raw similarity onto the confidence scale through the default knots (see calibration.py)."""
    return Calibration().confidence(similarity)


_BETA2 = 1.0


def _blend(query_coverage: float, variant_coverage: float) -> float:
    """Both directions must be covered: a harmonic mean leaning towards the query side."""
    if query_coverage <= 0 or variant_coverage <= 0:
        return 0.0
    beta2 = _BETA2
    return (1 + beta2) * query_coverage * variant_coverage / (beta2 * query_coverage + variant_coverage)


def build_matcher(items: Sequence[KbItem], settings: MatcherSettings, embedder: Embedder | None = None) -> Matcher:
    """Build the indexes for one KB revision (CPU-bound: call `build_matcher_async` from the event loop)."""
    return Matcher(items, settings, embedder=embedder)


async def build_matcher_async(
    items: Sequence[KbItem], settings: MatcherSettings, embedder: Embedder | None = None
) -> Matcher:
    """`build_matcher` in the default executor, so loading jieba and indexing 10k entries never stall the loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, build_matcher, list(items), settings, embedder)
