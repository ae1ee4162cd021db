"""Retention, churn/repurchase, CLV by tier and NPS on a small seeded history whose figures were computed by hand,
for a manager and for a rep (who counts only their own customers); then the pages and CSVs over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.access.viewer import Viewer
from services.reports.churn import churn_and_repurchase
from services.reports.clv import clv_by_tier
from services.reports.nps import nps_by_month
from services.reports.retention import retention_cohorts
from storage.db import make_sessionmaker
from storage.models.campaigns import RfmScore
from storage.models.console import Role
from storage.models.customers import Customer
from storage.models.messages import Message
from storage.models.purchases import Purchase
from storage.models.surveys import Survey
from tests.support.console_world import client, login, running_console

ZONE = "Asia/Shanghai"
NOW = datetime(2026, 12, 15, 4, 0, tzinfo=UTC)  # 12:00 on 15 December in Shanghai
MANAGER = Viewer(1, "boss", Role.MANAGER)
ZHANG = Viewer(2, "zhang", Role.REP, "zhangsan")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def _seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    """A, B, E belong to zhangsan; C, D to lisi. E's first contact is 1 November in Shanghai (31 October in UTC)."""
    people = {
        "A": ("zhangsan", "2026-10-05T02:00", None, "重要价值客户"),
        "B": ("zhangsan", "2026-10-20T02:00", "2026-11-10T02:00", "未购客户"),
        "C": ("lisi", "2026-11-03T02:00", None, "重要发展客户"),
        "D": ("lisi", "2026-11-25T02:00", "2026-12-05T02:00", None),
        "E": ("zhangsan", "2026-10-31T17:00", None, None),
    }
    async with sessions() as session:
        ids: dict[str, int] = {}
        for key, (owner, seen, lost, _) in people.items():
            row = Customer(
                external_userid=f"wm_{key}",
                name=key,
                owner_userid=owner,
                first_seen_at=_at(seen),
                lost_at=_at(lost) if lost else None,
            )
            session.add(row)
            await session.flush()
            ids[key] = row.id
        for key, (_, _, _, tier) in people.items():
            if tier:
                session.add(RfmScore(customer_id=ids[key], tier=tier, computed_at=NOW, recency_days=None))
        messages = [("A", "2026-10-06"), ("A", "2026-11-07"), ("B", "2026-10-21"), ("C", "2026-11-04")]
        messages += [("C", "2026-12-02"), ("E", "2026-11-30T17:00")]  # E: 1 December in Shanghai
        for i, (key, at) in enumerate(messages):
            session.add(_message(i, ids[key], _at(at if "T" in at else at + "T02:00")))
        for i, (key, at, cents) in enumerate(
            [("A", "2026-10-10", 10000), ("A", "2026-11-20", 5000), ("C", "2026-12-01", 20000)]
        ):
            session.add(
                Purchase(customer_id=ids[key], reference=f"o{i}", amount_cents=cents, purchased_at=_at(at + "T02:00"))
            )
        answers = [("A", 10, "2026-11-05"), ("B", 6, "2026-11-06"), ("C", 8, "2026-11-07")]
        answers += [("C", 9, "2026-12-02"), ("E", 3, "2026-12-03"), ("A", 9, "2026-12-04")]
        for key, score, at in answers:
            session.add(_survey(ids[key], "nps", score, _at(at + "T02:00")))
        session.add(_survey(ids["C"], "csat", 5, _at("2026-12-05T02:00")))  # not an NPS answer: not counted
        await session.commit()


def _message(i: int, customer_id: int, at: datetime) -> Message:
    return Message(
        source_key=f"kf:r{i}",
        channel="kf",
        chat_type="kf",
        chat_id=f"kf:{customer_id}",
        sender_kind="customer",
        sender_id=f"wm{customer_id}",
        customer_id=customer_id,
        msgtype="text",
        text="你好",
        body={},
        sent_at=at,
    )


def _survey(customer_id: int, kind: str, score: int, at: datetime) -> Survey:
    return Survey(
        customer_id=customer_id,
        kind=kind,
        trigger="manual",
        channel="kf",
        chat_id=f"kf:{customer_id}",
        status="answered",
        asked_at=at,
        expires_at=at,
        score=score,
        answered_at=at,
    )


async def _world(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    sessions = make_sessionmaker(engine)
    await _seed(sessions)
    return sessions


def _rows(rows: list[list[Any]], *keys: str) -> list[list[Any]]:
    return [row for row in rows if row[0] in keys]


async def test_retention_counts_active_months_per_cohort_when_customers_come_back(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    async with sessions() as session:
        everyone = await retention_cohorts(session, MANAGER, NOW, ZONE)
        mine = await retention_cohorts(session, ZHANG, NOW, ZONE)
    assert everyone.rows == [["2026-10", 2, 100.0, 50.0, 0.0, "", "", ""], ["2026-11", 3, 33.3, 66.7, "", "", "", ""]]
    assert mine.rows == [["2026-10", 2, 100.0, 50.0, 0.0, "", "", ""], ["2026-11", 1, 0.0, 100.0, "", "", "", ""]]


async def test_churn_and_repurchase_rates_per_month_when_customers_leave_and_buy_again(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    async with sessions() as session:
        everyone = await churn_and_repurchase(session, MANAGER, NOW, ZONE)
        mine = await churn_and_repurchase(session, ZHANG, NOW, ZONE)
    assert len(everyone.rows) == 12
    assert _rows(everyone.rows, "2026-10", "2026-11", "2026-12") == [
        ["2026-10", 0, 0, "", 1, 0, 0.0],
        ["2026-11", 2, 1, 50.0, 1, 1, 100.0],
        ["2026-12", 4, 1, 25.0, 1, 0, 0.0],
    ]
    assert _rows(mine.rows, "2026-11", "2026-12") == [
        ["2026-11", 2, 1, 50.0, 1, 1, 100.0],
        ["2026-12", 2, 0, 0.0, 0, 0, ""],
    ]


async def test_clv_sums_spend_per_rfm_tier_when_some_customers_are_not_rated(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    async with sessions() as session:
        everyone = await clv_by_tier(session, MANAGER)
        mine = await clv_by_tier(session, ZHANG)
    assert everyone.rows == [
        ["重要价值客户", 1, 2, 150.0, 150.0, 2.0, 75.0],
        ["重要发展客户", 1, 1, 200.0, 200.0, 1.0, 200.0],
        ["未购客户", 1, 0, 0.0, 0.0, 0.0, ""],
        ["未评分", 2, 0, 0.0, 0.0, 0.0, ""],
    ]
    assert [row[:3] for row in mine.rows] == [["重要价值客户", 1, 2], ["未购客户", 1, 0], ["未评分", 1, 0]]


async def test_nps_per_month_counts_only_nps_answers_when_csat_answers_exist(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    async with sessions() as session:
        everyone = await nps_by_month(session, MANAGER, NOW, ZONE)
        mine = await nps_by_month(session, ZHANG, NOW, ZONE)
    assert _rows(everyone.rows, "2026-10", "2026-11", "2026-12") == [
        ["2026-10", 0, 0, 0, 0, ""],
        ["2026-11", 3, 1, 1, 1, 0],
        ["2026-12", 3, 2, 0, 1, 33],
    ]
    assert _rows(mine.rows, "2026-11", "2026-12") == [["2026-11", 2, 1, 0, 1, 0], ["2026-12", 2, 1, 0, 1, 0]]
    assert everyone.chart["series"][0]["values"][-2:] == [0, 33]


async def test_rep_opens_scoped_reports_and_csv_but_not_the_service_report_when_logged_in(database_url: str) -> None:
    async with running_console(database_url) as world:
        async with client() as http:
            await login(http, world.base, "zhang")
            for name in ("retention", "churn", "clv", "nps"):
                async with http.get(f"{world.base}/console/reports/{name}") as page:
                    html = await page.text()
                    assert page.status == 200 and 'id="chart-report"' in html and "仅统计你负责" in html
                async with http.get(f"{world.base}/console/reports/{name}.csv") as csv:
                    assert csv.status == 200 and csv.content_type == "text/csv"
            async with http.get(f"{world.base}/console/reports/clv.csv") as csv:
                body = (await csv.read()).decode("utf-8-sig")
            # zhang owns 王小明 and follows 钱多多: two customers, neither rated yet.
            assert body.splitlines()[1] == "未评分,2,0,0.0,0.0,0.0,"
            async with http.get(f"{world.base}/console/reports/service", allow_redirects=False) as page:
                assert page.status == 403
        async with client() as http:
            await login(http, world.base, "boss")
            async with http.get(f"{world.base}/console/reports/clv.csv") as csv:
                assert (await csv.read()).decode("utf-8-sig").splitlines()[1] == "未评分,3,0,0.0,0.0,0.0,"
