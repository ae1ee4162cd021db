"""`qunke report service`: response times by rep, SLA breaches, tickets, CSAT/NPS and the at-risk list, together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli.report import period
from services.reports.service import service_report
from storage.db import make_sessionmaker
from storage.models.customers import Customer, Member
from storage.models.service import ChatWait, ChurnScore
from storage.models.surveys import Survey
from storage.models.tickets import Ticket

T0 = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def _wait(customer_id: int, by: str, business_s: float, breached: bool, at: datetime) -> ChatWait:
    return ChatWait(
        channel="archive",
        chat_type="group",
        chat_id="wrGROUP",
        customer_id=customer_id,
        owner_userid=by,
        question="请问发票怎么开",
        waiting_since=at,
        due_at=at + timedelta(minutes=30),
        status="answered",
        answered_at=at + timedelta(seconds=business_s),
        answered_by=by,
        response_s=business_s,
        business_response_s=business_s,
        breached=breached,
    )


def _survey(customer_id: int, kind: str, score: int | None, at: datetime) -> Survey:
    return Survey(
        customer_id=customer_id,
        kind=kind,
        trigger="ticket_solved",
        channel="kf",
        chat_id="wkKF",
        status="answered" if score is not None else "expired",
        asked_at=at,
        expires_at=at + timedelta(hours=48),
        score=score,
        answered_at=at + timedelta(minutes=5) if score is not None else None,
    )


async def test_report_gathers_every_section_when_the_period_has_service_activity(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as session:
        session.add_all([Member(userid="zhangsan", name="张三"), Member(userid="lisi", name="李四")])
        customers = [Customer(name=f"客户{i}", owner_userid="zhangsan", first_seen_at=T0) for i in range(4)]
        session.add_all(customers)
        await session.flush()
        a, b, c, d = (x.id for x in customers)
        session.add_all(
            [
                _wait(a, "zhangsan", 60, False, T0),
                _wait(b, "zhangsan", 300, False, T0 + timedelta(hours=1)),
                _wait(c, "zhangsan", 3600, True, T0 + timedelta(hours=2)),
                _wait(d, "lisi", 120, False, T0 + timedelta(hours=3)),
                _wait(a, "lisi", 90, False, T0 - timedelta(days=30)),  # outside the period
            ]
        )
        session.add_all(
            [
                Ticket(customer_id=a, subject="投诉", status="open", source="complaint", opened_at=T0, updated_at=T0),
                Ticket(
                    customer_id=b,
                    subject="低分",
                    status="solved",
                    source="low_score",
                    opened_at=T0,
                    updated_at=T0,
                    solved_at=T0 + timedelta(hours=6),
                ),
            ]
        )
        session.add_all(
            [
                _survey(a, "csat", 5, T0),
                _survey(b, "csat", 4, T0),
                _survey(c, "csat", 1, T0),
                _survey(d, "csat", None, T0),
                _survey(a, "nps", 10, T0),
                _survey(b, "nps", 9, T0),
                _survey(c, "nps", 3, T0),
                _survey(d, "nps", 8, T0),
            ]
        )
        session.add(ChurnScore(customer_id=c, risk=0.8, reasons=["近30天没有发言"], at_risk=True, scored_at=T0))

    async with sessions() as session:
        report = await service_report(session, T0 - timedelta(days=1), T0 + timedelta(days=1), T0 + timedelta(days=1))
    data = report.to_dict()

    assert data["responses"]["overall"]["answered"] == 4
    assert data["sla_breaches"] == 1
    by_rep = {g["key"]: g for g in data["responses"]["by_rep"]}
    assert by_rep["zhangsan"]["answered"] == 3 and by_rep["zhangsan"]["breaches"] == 1
    assert by_rep["zhangsan"]["business_s"]["p50"] == 300
    assert by_rep["lisi"]["answered"] == 1
    assert data["member_names"] == {"zhangsan": "张三", "lisi": "李四"}
    assert data["tickets"]["opened"] == 2 and data["tickets"]["by_status"]["open"] == 1
    assert data["tickets"]["solved"] == 1 and data["tickets"]["avg_resolution_h"] == pytest.approx(6)
    csat = data["scores"]["csat"]
    assert csat["count"] == 3 and csat["average"] == pytest.approx(3.33)  # rounded to 2 places
    assert csat["distribution"]["5"] == 1 and csat["distribution"]["1"] == 1
    # NPS: 2 promoters (10, 9), 1 passive (8), 1 detractor (3) of 4 → 50 − 25 = +25.
    assert data["scores"]["nps"]["score"] == pytest.approx(25)
    assert [row["customer_id"] for row in data["at_risk"]] == [c]


async def test_report_refuses_an_empty_period_when_end_is_not_after_start(engine: AsyncEngine) -> None:
    async with make_sessionmaker(engine)() as session:
        with pytest.raises(ValueError, match="end"):
            await service_report(session, T0, T0, T0)


def test_period_counts_whole_days_in_the_business_zone_when_dates_are_given() -> None:
    first, after = period("2026-11-01", "2026-11-07", "Asia/Shanghai", T0)
    assert first == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert after == datetime(2026, 11, 7, 16, 0, tzinfo=UTC)
    first, after = period(None, None, "Asia/Shanghai", T0)
    assert (after - first) == timedelta(days=7)
    with pytest.raises(typer.BadParameter):
        period("2026-11-08", "2026-11-07", "Asia/Shanghai", T0)
    with pytest.raises(typer.BadParameter):
        period("11/08", None, "Asia/Shanghai", T0)
