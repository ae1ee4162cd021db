"""From scored FAQ entries to a decision: calibrated confidence, near-tie penalty, evidence caps, then the bands."""

from __future__ import annotations

from typing import Final

from services.faq.calibration import DEFAULT_KNOTS, Calibration
from services.faq.match_index import MatchIndex
from services.faq.match_scoring import Scored
from services.faq.match_settings import MatcherSettings
from services.faq.types import Action, Candidate, Decision

# The default knots, raw similarity -> confidence (a KB too small to calibrate on its own keeps them).
CALIBRATION: Final = DEFAULT_KNOTS
# How far below the answer threshold a capped confidence sits (confidences are rounded to 4 places).
_CAP_STEP: Final = 0.001


def decide_bands(
    index: MatchIndex, settings: MatcherSettings, calibration: Calibration, normalized: str, scored: dict[str, Scored]
) -> Decision:
    """Rank the entries; the top one's confidence falls in the answer, suggest or silent band."""
    if not scored:
        return Decision(Action.SILENT, 0.0, "no_match", normalized=normalized)
    ranked = sorted(scored.items(), key=lambda kv: -kv[1].similarity)
    s = settings
    candidates = []
    for rank, (entry, sc) in enumerate(ranked[: s.top_k]):
        rival = ranked[1][1].similarity if rank == 0 and len(ranked) > 1 else ranked[0][1].similarity
        if rank == 0 and len(ranked) == 1:
            rival = 0.0
        margin = sc.similarity - rival
        confidence = _tie_adjusted(calibration.confidence(sc.similarity), margin, s)
        held = ""
        if _tie_adjusted(calibration.confidence(sc.question), margin, s) < s.answer:
            # Answer-text (or embedder) evidence may lift an entry into "suggest", never into "answer".
            held = "weak_evidence_only" if confidence >= s.answer else ""
            confidence = min(confidence, max(0.0, s.answer - _CAP_STEP))
        if sc.content < s.min_content:
            # Rounded confidences are compared with the threshold: stay a clear step below it.
            held = held or ("uncovered_content" if confidence >= s.answer else "")
            confidence = min(confidence, max(0.0, s.answer - _CAP_STEP))
        candidates.append(_candidate(index, entry, sc, confidence, held))
    top = candidates[0].confidence
    if top >= s.answer:
        action, reason = Action.ANSWER, "confident"
    elif top >= s.suggest:
        action, reason = Action.SUGGEST, "between_thresholds"
    else:
        action, reason = Action.SILENT, "low_score"
    return Decision(action, top, reason, tuple(candidates), normalized)


def _candidate(index: MatchIndex, entry: str, sc: Scored, confidence: float, held: str) -> Candidate:
    return Candidate(
        entry,
        round(confidence, 4),
        index.variants[sc.variant].text,
        _matched_terms(index, sc),
        question_score=round(sc.question, 4),
        answer_text_score=round(sc.answer_lift, 4),
        embedder_score=round(sc.embed_lift, 4),
        answer_terms=tuple(sorted(sc.answer_terms)),
        held_below_answer=held,
    )


def _matched_terms(index: MatchIndex, scored: Scored) -> tuple[str, ...]:
    """The reasons: shared words, rarest first; shared character bigrams when no whole word matched."""
    if scored.shared_words:
        return tuple(sorted(scored.shared_words, key=lambda t: (-index.word_idf[t], t)))
    bigrams = sorted((t for t in scored.shared_chars if len(t) > 1), key=lambda t: (-index.char_idf[t], t))
    return tuple(bigrams[:5])


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


def calibrate(similarity: float) -> float:
    """Map a raw similarity onto the confidence scale through the default knots (see calibration.py)."""
    return Calibration().confidence(similarity)
