"""Scoring retrieved FAQ variants against a query: IDF coverage both ways, content share, answer and embedder lifts."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from services.faq import frames, tokens
from services.faq.embedder import fuse, lift
from services.faq.local_embedder import VariantVectors
from services.faq.match_index import MatchIndex
from services.faq.match_settings import MatcherSettings

_BETA2 = 1.0


@dataclass(frozen=True, slots=True)
class Query:
    normalized: str
    chars: frozenset[str]
    words: frozenset[str]
    char_mass: float  # the IDF weight of all the query's terms (unknown ones at the rarest weight)
    word_mass: float
    char_idf: Mapping[str, float]  # each term's weight (frames weighed down, unknown terms at the rarest weight)
    word_idf: Mapping[str, float]


@dataclass(slots=True)
class Scored:
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


class VariantScorer:
    """Scores a query against the variants an index retrieves; the best variant per entry."""

    def __init__(self, index: MatchIndex, settings: MatcherSettings, vectors: VariantVectors | None) -> None:
        self.index: Final = index
        self.settings: Final = settings
        self.vectors: Final = vectors

    def query(self, normalized: str) -> Query:
        chars = frozenset(tokens.chars(normalized))
        words = frozenset(tokens.words(normalized))
        ix = self.index
        unknown = ix.unknown_idf
        char_idf = {t: ix.char_idf.get(t, unknown * frames.weight(t)) for t in chars}
        word_idf = {t: ix.word_idf.get(t, unknown * frames.weight(t)) for t in words}
        return Query(normalized, chars, words, sum(char_idf.values()), sum(word_idf.values()), char_idf, word_idf)

    def lexical(
        self,
        query: Query,
        exclude: int | None = None,
        semantic: bool = True,
        knots: tuple[float, float] = (0.0, float("inf")),
    ) -> dict[str, Scored]:
        """Retrieve with both BM25 indexes, then score the retrieved variants; the best variant per entry.

        `knots` are the raw similarities of the suggest and answer thresholds: the embedder is consulted only where
        its lift could change the decision (see `_embedding_can_matter`).
        """
        picked = self.index.retrieve(query.chars, query.words)
        best: dict[str, Scored] = {}
        picked.discard(-1 if exclude is None else exclude)
        variants = self.index.variants
        for i in picked:
            scored = self._score(query, int(i), exclude)
            current = best.get(variants[int(i)].entry_id)
            if current is None or scored.similarity > current.similarity:
                best[variants[int(i)].entry_id] = scored
        if semantic and self.vectors is not None and _embedding_can_matter(best, self.settings.embed_weight, knots):
            self._add_embedding(query, best, picked, knots[0])
        return best

    def _add_embedding(self, query: Query, best: dict[str, Scored], picked: set[int], suggest_raw: float) -> None:
        """Additive, over the retrieved variants only: each entry's best cosine above the floor lifts its score.

        Only the variants of entries whose lift could reach the top entry or the suggest band are compared: the
        rest cannot change the decision, and each uncached variant costs an encoder call.
        """
        assert self.vectors is not None
        s = self.settings
        reach = min(max(sc.similarity for sc in best.values()), suggest_raw) - s.embed_weight
        variants = self.index.variants
        worth = {i for i in picked if (sc := best.get(variants[i].entry_id)) is not None and sc.similarity >= reach}
        cosines = self.vectors.cosines(self.vectors.embed(query.normalized), worth)
        top: dict[str, float] = {}
        for i, cosine in cosines.items():
            entry = self.index.variants[i].entry_id
            top[entry] = max(top.get(entry, -1.0), cosine)
        for entry, scored in best.items():
            lift = s.embed_weight * max(0.0, top.get(entry, 0.0) - s.embed_floor) / (1.0 - s.embed_floor)
            scored.similarity += lift
            scored.embed_lift = lift

    def _score(self, query: Query, i: int, exclude: int | None = None) -> Scored:
        ix = self.index
        variant = ix.variants[i]
        entry = variant.entry_id
        entry_chars, entry_words = ix.entry_terms(entry, exclude)
        cq, cv, shared_chars = _coverage(
            query.chars, query.char_mass, variant.chars, entry_chars, ix.char_idf, ix.char_mass[i]
        )
        wq, wv, shared_words = _coverage(
            query.words, query.word_mass, variant.words, entry_words, ix.word_idf, ix.word_mass[i]
        )
        char_sim = _blend(cq, cv)
        word_sim = _blend(wq, wv) if variant.words and query.words else char_sim
        w = self.settings.word_weight
        similarity = (1 - w) * char_sim + w * word_sim
        if query.words:
            content = _content_share(query.words, query.word_idf, entry_words)
        else:
            content = _content_share(query.chars, query.char_idf, entry_chars)
        char_share, char_hits = ix.answers.share(entry, query.chars, query.char_idf, entry_chars, True)
        word_share, hits = ix.answers.share(entry, query.words, query.word_idf, entry_words, False)
        lift = self.settings.answer_weight * ((1 - w) * char_share + w * (word_share if query.words else char_share))
        hits = hits or char_hits
        return Scored(i, similarity + lift, shared_words, shared_chars, content, similarity, lift, hits)

    def fuse(
        self, scored: dict[str, Scored], cosines: npt.NDArray[np.float32], floor: float = 0.0
    ) -> dict[str, Scored]:
        """Each entry's lexical similarity with its best variant's cosine (`embedder_fusion`: "lift" adds the cosine's
        excess over `floor`, "blend" mixes them); the embedder may add entries (never above "suggest", see
        decision_bands: their question score is 0)."""
        weight = self.settings.embedder_weight
        lifted = self.settings.embedder_fusion == "lift"
        best_cos: dict[str, tuple[float, int]] = {}
        for i, value in enumerate(cosines.tolist()):
            entry = self.index.variants[i].entry_id
            if entry not in best_cos or value > best_cos[entry][0]:
                best_cos[entry] = (value, i)
        out: dict[str, Scored] = {}
        for entry, (cosine, i) in best_cos.items():
            lexical = scored.get(entry)
            base = lexical.similarity if lexical is not None else 0.0
            fused = lift(base, cosine, weight, floor) if lifted else fuse(base, cosine, weight)
            if lexical is None and fused <= 0:
                continue
            added = fused - base if lifted else 0.0  # "faq ask --json" evidence: what the endpoint's cosine added
            if lexical is None:
                out[entry] = Scored(i, fused, embed_lift=added)
            else:
                out[entry] = dataclasses.replace(lexical, similarity=fused, embed_lift=lexical.embed_lift + added)
        return out


def _embedding_can_matter(best: Mapping[str, Scored], weight: float, knots: tuple[float, float]) -> bool:
    """Whether a lift of at most `weight` could change the decision: reorder the top entry of a menu, or lift it
    into the suggest band. Not consulted: a query whose best entry cannot reach the suggest knot (it stays silent), a
    clear winner (ahead by more than `weight`) already in the suggest band (it keeps its place and band: the lift
    never makes the bot answer), and lexical evidence already at the answer knot (a weak signal does not overturn
    it). For those the query is never encoded, which is where the embedder's CPU time goes."""
    if not best:
        return False
    suggest_raw, answer_raw = knots
    top, second = _two_best(best)
    if top + weight < suggest_raw or top >= answer_raw:
        return False
    return top - second <= weight or top < suggest_raw


def _two_best(best: Mapping[str, Scored]) -> tuple[float, float]:
    first = second = 0.0
    for sc in best.values():
        if sc.similarity > first:
            first, second = sc.similarity, first
        elif sc.similarity > second:
            second = sc.similarity
    return first, second


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


def _blend(query_coverage: float, variant_coverage: float) -> float:
    """Both directions must be covered: a harmonic mean leaning towards the query side."""
    if query_coverage <= 0 or variant_coverage <= 0:
        return 0.0
    beta2 = _BETA2
    return (1 + beta2) * query_coverage * variant_coverage / (beta2 * query_coverage + variant_coverage)
