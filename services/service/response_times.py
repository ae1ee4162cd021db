"""Response-time metrics from answered waits: per rep and per chat, p50/p90/average, business and wall seconds."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.service.sla import STAGE_ESCALATED
from storage.models.service import ChatWait
from storage.repos import waits as waits_repo


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Summary:
    """p50, p90 and the mean of some response times, in seconds (None when there are none)."""

    p50: float | None
    p90: float | None
    average: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        average = sum(values) / len(values) if values else None
        return cls(percentile(values, 50), percentile(values, 90), average)


@dataclass(frozen=True, slots=True)
class GroupStats:
    """One rep (key = userid, "bot" for the FAQ, "" for waits with no owner) or one chat (key = chat id)."""

    key: str
    chat_type: str
    answered: int
    business_s: Summary
    wall_s: Summary
    breaches: int
    # Answered with no business time elapsed (asked and answered outside working hours): left out of business_s,
    # whose percentiles would otherwise read "0 秒" on an evening or a weekend.
    off_hours: int = 0


@dataclass(frozen=True, slots=True)
class ResponseStats:
    start: datetime
    end: datetime
    overall: GroupStats
    by_rep: tuple[GroupStats, ...]
    by_chat: tuple[GroupStats, ...]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"], data["end"] = self.start.isoformat(), self.end.isoformat()
        return data


async def response_stats(session: AsyncSession, start: datetime, end: datetime) -> ResponseStats:
    """Waits answered in [start, end) give the times; a breach is an answer after the deadline, or a wait whose
    deadline fell in [start, end) and is still open after the tick escalated it (counted for its owner rep)."""
    answered = await waits_repo.answered_between(session, start, end)
    still_open = await waits_repo.overdue_open(session, start, end, STAGE_ESCALATED)
    return ResponseStats(
        start=start,
        end=end,
        overall=_group("", "", answered, still_open),
        by_rep=_grouped(answered, still_open, _rep_of),
        by_chat=_grouped(answered, still_open, lambda w, _done: w.chat_id),
    )


def _rep_of(wait: ChatWait, answered: bool) -> str:
    """Who a wait counts for: whoever answered it, or (still open) the rep who owns it."""
    return (wait.answered_by or "") if answered else (wait.owner_userid or "")


def _grouped(
    answered: Iterable[ChatWait], still_open: Iterable[ChatWait], key: Callable[[ChatWait, bool], str]
) -> tuple[GroupStats, ...]:
    done: dict[str, list[ChatWait]] = defaultdict(list)
    late: dict[str, list[ChatWait]] = defaultdict(list)
    for wait in answered:
        done[key(wait, True)].append(wait)
    for wait in still_open:
        late[key(wait, False)].append(wait)
    keys = sorted(set(done) | set(late))
    return tuple(_group(k, _chat_type(done[k] + late[k]), done[k], late[k]) for k in keys)


def _chat_type(waits: Sequence[ChatWait]) -> str:
    kinds = {w.chat_type for w in waits}
    return kinds.pop() if len(kinds) == 1 else ""


def _group(key: str, chat_type: str, answered: Sequence[ChatWait], still_open: Sequence[ChatWait]) -> GroupStats:
    business = [w.business_response_s or 0.0 for w in answered]
    return GroupStats(
        key=key,
        chat_type=chat_type,
        answered=len(answered),
        business_s=Summary.of([s for s in business if s > 0]),
        wall_s=Summary.of([w.response_s or 0.0 for w in answered]),
        breaches=sum(1 for w in answered if w.breached) + len(still_open),
        off_hours=sum(1 for s in business if s <= 0),
    )
