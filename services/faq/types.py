"""The matcher's stable interface: what goes in (KB entries) and what comes out (a decision with its reasons)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True, slots=True)
class KbItem:
    """One knowledge-base entry as the matcher sees it."""

    id: str
    questions: tuple[str, ...]
    answer: str
    tags: tuple[str, ...] = ()
    enabled: bool = True


class Action(StrEnum):
    ANSWER = "answer"  # confidence >= answer threshold: the bot answers
    SUGGEST = "suggest"  # between the thresholds: a rep gets a suggested reply
    SILENT = "silent"  # chit-chat, not a question, or too unsure


@dataclass(frozen=True, slots=True)
class Candidate:
    entry_id: str
    confidence: float  # 0..1
    variant: str  # the question variant that matched best
    matched_terms: tuple[str, ...] = ()
    # The evidence behind `confidence` (raw similarity parts, before calibration), for `faq ask --json`:
    question_score: float = 0.0  # from the entry's question variants
    answer_text_score: float = 0.0  # added by the words of its answer (weak: never enough alone to answer)
    embedder_score: float = 0.0  # added by the in-process embedder (never enough alone to answer)
    answer_terms: tuple[str, ...] = ()  # the query's words only the answer contains
    held_below_answer: str = ""  # why it could not reach "answer": "weak_evidence_only", "uncovered_content", ""


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    confidence: float  # the best candidate's confidence, 0 when there is none
    reason: str  # why, in a word: "confident", "between_thresholds", "low_score", "chitchat", "not_question", ...
    candidates: tuple[Candidate, ...] = field(default=())
    normalized: str = ""

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


class Embedder(Protocol):
    """A semantic scorer an operator may add (an OpenAI-compatible /v1/embeddings endpoint); off by default."""

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...
