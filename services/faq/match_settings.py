"""The FAQ matcher's thresholds and knobs (config `faq.*`), light to import: no numpy or BM25 here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class MatcherSettings:
    """Thresholds and knobs; config `faq.*` maps onto these (bot/config/faq.py FaqSettings)."""

    answer: float = 0.72  # at or above: the bot answers
    suggest: float = 0.5  # at or above (and below `answer`): a rep gets a suggested reply
    synonyms: Mapping[str, Sequence[str]] = field(default_factory=dict)  # canonical -> variants, on top of defaults
    top_k: int = 3  # candidates returned in a decision
    embedder_weight: float = 0.35  # share of the embedder's cosine in the fused score, when an embedder is set
    # How an operator's embedder (faq.embedder.url) is fused. "lift" (default since faqm3e): the lexical score plus
    # `embedder_weight` x the cosine's excess over this KB's own near-miss cosine (the `embedder_floor_quantile`
    # percentile of each variant's best cosine to another entry), rescaled to 0..1; never lowers a lexical score.
    # "blend": the older convex (1-w)·lexical + w·cosine, which a model whose unrelated texts score 0.6-0.8 (any
    # real Chinese model) lifts everything with: measured with m3e-small, silence fell to 46-64 % (bench/RESULTS.md).
    embedder_fusion: str = "lift"
    embedder_floor_quantile: float = 90.0
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
    embed_floor: float = 0.6  # older sets' silence below 90 % (0.55 did once questions were indexed as written too)

    def __post_init__(self) -> None:
        if not 0 <= self.suggest <= self.answer <= 1:
            raise ValueError("thresholds: expected 0 <= suggest <= answer <= 1")
        if self.top_k < 1:
            raise ValueError("top_k: expected at least 1")
        if not 0 <= self.embedder_weight <= 1:
            raise ValueError("embedder_weight: expected 0..1")
        if self.embedder_fusion not in ("lift", "blend"):
            raise ValueError("embedder_fusion: expected lift or blend")
        if not 0 <= self.embedder_floor_quantile <= 100:
            raise ValueError("embedder_floor_quantile: expected 0..100")
