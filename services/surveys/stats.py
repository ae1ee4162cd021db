"""CSAT and NPS statistics for a period: response rate, CSAT average and distribution, NPS, low scores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.surveys.asking import CSAT_LOW, NPS_LOW
from storage.models.surveys import Survey, SurveyKind, SurveyStatus


@dataclass(frozen=True, slots=True)
class ScoreStats:
    """Surveys in [start, end): asked (by asked_at) and how many of those were answered; scores by answered_at."""

    start: datetime
    end: datetime
    asked: int
    answered: int
    expired: int
    response_rate: float | None
    csat_count: int
    csat_average: float | None
    csat_distribution: dict[int, int]
    nps_count: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None
    low_scores: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "asked": self.asked,
            "answered": self.answered,
            "expired": self.expired,
            "response_rate": self.response_rate,
            "csat": {
                "count": self.csat_count,
                "average": self.csat_average,
                "distribution": {str(k): v for k, v in self.csat_distribution.items()},
            },
            "nps": {
                "count": self.nps_count,
                "promoters": self.promoters,
                "passives": self.passives,
                "detractors": self.detractors,
                "score": self.nps,
            },
            "low_scores": self.low_scores,
        }


async def score_stats(session: AsyncSession, start: datetime, end: datetime) -> ScoreStats:
    asked_rows = (
        await session.execute(select(Survey.status).where(Survey.asked_at >= start, Survey.asked_at < end))
    ).scalars()
    statuses = list(asked_rows)
    answered_rows = (
        await session.execute(
            select(Survey.kind, Survey.score).where(
                Survey.status == SurveyStatus.ANSWERED, Survey.answered_at >= start, Survey.answered_at < end
            )
        )
    ).all()
    csat = [int(s) for k, s in answered_rows if k == SurveyKind.CSAT and s is not None]
    nps = [int(s) for k, s in answered_rows if k == SurveyKind.NPS and s is not None]
    promoters = sum(1 for s in nps if s >= 9)
    detractors = sum(1 for s in nps if s <= NPS_LOW)
    answered = sum(1 for s in statuses if s == SurveyStatus.ANSWERED)
    return ScoreStats(
        start=start,
        end=end,
        asked=len(statuses),
        answered=answered,
        expired=sum(1 for s in statuses if s == SurveyStatus.EXPIRED),
        response_rate=round(answered / len(statuses), 4) if statuses else None,
        csat_count=len(csat),
        csat_average=round(sum(csat) / len(csat), 2) if csat else None,
        csat_distribution={score: csat.count(score) for score in range(1, 6)},
        nps_count=len(nps),
        promoters=promoters,
        passives=len(nps) - promoters - detractors,
        detractors=detractors,
        nps=round(100 * (promoters - detractors) / len(nps), 1) if nps else None,
        low_scores=sum(1 for s in csat if s <= CSAT_LOW) + detractors,
    )
