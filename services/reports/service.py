"""The service report for managers: response times, SLA breaches, tickets, CSAT/NPS and the at-risk list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.churn.warning import AtRisk, at_risk
from services.service.response_times import ResponseStats, response_stats
from services.surveys.stats import ScoreStats, score_stats
from services.tickets.views import TicketCounts, ticket_counts
from storage.repos import contacts


@dataclass(frozen=True, slots=True)
class ServiceReport:
    start: datetime
    end: datetime
    generated_at: datetime
    responses: ResponseStats
    tickets: TicketCounts
    scores: ScoreStats
    at_risk: tuple[AtRisk, ...]
    member_names: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "generated_at": self.generated_at.isoformat(),
            "responses": self.responses.to_dict(),
            "sla_breaches": self.responses.overall.breaches,
            "tickets": self.tickets.to_dict(),
            "scores": self.scores.to_dict(),
            "at_risk": [row.to_dict() for row in self.at_risk],
            "member_names": dict(self.member_names),
        }


async def service_report(
    session: AsyncSession, start: datetime, end: datetime, now: datetime, *, at_risk_limit: int = 20
) -> ServiceReport:
    """Everything over [start, end); the at-risk list is as of the last churn scoring."""
    if end <= start:
        raise ValueError("the report's end must come after its start")
    responses = await response_stats(session, start, end)
    risky = tuple(await at_risk(session, at_risk_limit))
    userids = {g.key for g in responses.by_rep if g.key and g.key != "bot"}
    members = await contacts.members_by_ids(session, userids)
    return ServiceReport(
        start=start,
        end=end,
        generated_at=now,
        responses=responses,
        tickets=await ticket_counts(session, start, end, now),
        scores=await score_stats(session, start, end),
        at_risk=risky,
        member_names={userid: m.name for userid, m in members.items() if m.name},
    )
