"""Questions the bot did not answer confidently: recorded, grouped with similar ones, listed, promoted to entries.

Grouping is deliberately simple and explainable. A new question joins the open group whose normalised label is
most like it (rapidfuzz ratio >= `similarity`), or, failing that, an open group with the same best guess whose
score is within `score_gap` (both guesses at least at the suggest threshold: the matcher saw the same topic).
Otherwise it starts a group of its own. `detail.grouped_by` records which rule applied.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from rapidfuzz import fuzz, process
from sqlalchemy.ext.asyncio import AsyncSession

from services.faq import kb
from services.faq.types import Decision, KbItem
from storage.models.faq import UnansweredGroup, UnansweredQuestion, UnansweredStatus
from storage.repos import faq as faq_repo

_NOT_WORD: Final = re.compile(r"[\W_]+", re.UNICODE)
PROMOTE_MAX_QUESTIONS: Final = 20


@dataclass(frozen=True, slots=True)
class Grouping:
    similarity: float = 80.0  # rapidfuzz ratio, 0..100
    score_gap: float = 0.05
    suggest_threshold: float = 0.5


@dataclass(frozen=True, slots=True)
class Asked:
    """Who asked what, where."""

    message_id: int | None
    customer_id: int | None
    channel: str
    chat_id: str
    text: str
    asked_at: datetime


@dataclass(frozen=True, slots=True)
class GroupView:
    id: int
    label: str
    count: int
    best_entry_id: str | None
    best_score: float
    status: str
    entry_id: str | None
    first_at: datetime
    last_at: datetime


def normalize(text: str) -> str:
    """Width-folded, lower-case, without punctuation, emoji or spaces: what grouping compares."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


async def record(
    session: AsyncSession, asked: Asked, decision: Decision, action: str, grouping: Grouping, now: datetime
) -> UnansweredGroup | None:
    """Record one question (once per message) in its group; returns the group."""
    if asked.message_id is not None and await faq_repo.question_for_message(session, asked.message_id):
        return None
    normalized = normalize(decision.normalized or asked.text) or asked.text.strip()
    best = decision.best
    entry_id, score = (best.entry_id, best.confidence) if best else (None, decision.confidence)
    found, rule = await _find_group(session, normalized, entry_id, score, grouping)
    if found is None:
        found, rule = await faq_repo.add_group(session, asked.text.strip(), normalized, entry_id, score, now), "new"
    found.count += 1
    found.last_at = max(found.last_at, now)
    if score > found.best_score:
        found.best_entry_id, found.best_score = entry_id, score
    detail: dict[str, object] = {"grouped_by": rule, "reason": decision.reason}
    if best is not None:
        detail |= {"variant": best.variant, "matched_terms": list(best.matched_terms)}
    await faq_repo.add_question(
        session,
        UnansweredQuestion(
            group_id=found.id,
            message_id=asked.message_id,
            customer_id=asked.customer_id,
            channel=asked.channel,
            chat_id=asked.chat_id[:160],
            text=asked.text,
            best_entry_id=entry_id,
            score=score,
            decision=action,
            detail=detail,
            asked_at=asked.asked_at,
        ),
    )
    return found


async def _find_group(
    session: AsyncSession, normalized: str, entry_id: str | None, score: float, grouping: Grouping
) -> tuple[UnansweredGroup | None, str]:
    groups = await faq_repo.open_groups(session)
    if not groups:
        return None, ""
    labels = [g.normalized for g in groups]
    hit = process.extractOne(normalized, labels, scorer=fuzz.ratio, score_cutoff=grouping.similarity)
    if hit is not None:
        return groups[hit[2]], "text"
    if entry_id is None or score < grouping.suggest_threshold:
        return None, ""
    for candidate in groups:
        same_guess = candidate.best_entry_id == entry_id and candidate.best_score >= grouping.suggest_threshold
        if same_guess and abs(candidate.best_score - score) <= grouping.score_gap:
            return candidate, "best_guess"
    return None, ""


async def list_groups(session: AsyncSession, *, include_closed: bool = False) -> list[GroupView]:
    rows = await faq_repo.list_groups(session, include_closed=include_closed)
    return [_view(g) for g in rows]


def _view(g: UnansweredGroup) -> GroupView:
    return GroupView(g.id, g.label, g.count, g.best_entry_id, g.best_score, g.status, g.entry_id, g.first_at, g.last_at)


async def promote(
    session: AsyncSession, group_id: int, answer: str, now: datetime, *, entry_id: str | None = None
) -> KbItem:
    """Turn an open group into a KB entry: its distinct questions become the variants, the group is closed."""
    group = await faq_repo.group(session, group_id, lock=True)
    if group is None:
        raise kb.KbError(f"没有编号为 {group_id} 的未解答问题组 / no unanswered group {group_id}")
    if group.status != UnansweredStatus.OPEN:
        raise kb.KbError(f"问题组 {group_id} 已处理（{group.status}）/ group {group_id} is already {group.status}")
    texts = [group.label] + [q.text for q in await faq_repo.questions_of(session, group_id)]
    unique = list(dict.fromkeys(" ".join(t.split()) for t in texts if t.strip()))[:PROMOTE_MAX_QUESTIONS]
    item = await kb.create_entry(session, entry_id or f"unanswered-{group_id}", unique, answer, now)
    group.status, group.entry_id = UnansweredStatus.PROMOTED, item.id
    return item


async def teach(
    session: AsyncSession, entry_id: str, question: str, now: datetime, *, similarity: float = 80.0
) -> tuple[bool, list[int]]:
    """Add `question` as a variant of an entry and close the open groups it answers (status taught), as promoting
    does: whether the variant was new, and the groups closed."""
    added = await kb.add_variant(session, entry_id, question, now)
    wanted = normalize(question) or question.strip()
    closed = []
    for group in await faq_repo.open_groups(session):
        if fuzz.ratio(wanted, group.normalized) >= similarity:
            group.status, group.entry_id = UnansweredStatus.TAUGHT, entry_id
            closed.append(group.id)
    return added, closed
