"""Churn and RFM results pinned on a small fixture, on SQLite and PostgreSQL: every score, reason, tier and alert.

The expected rows (tests/data/churn_pinned.json) were written by the per-chunk Python scoring before the work moved
into SQL; the set-based jobs must give the same rows to the digit, including a burst of alerts to one rep that folds
into a digest, merged profiles, profile scores standing in for surveys, and a second day's run.
Regenerate (only when the model itself changes on purpose) with QUNKE_WRITE_PINNED=1.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from campaigns.rfm import run_rfm
from services.churn.model import ChurnPolicy
from services.churn.warning import run_churn
from storage.db import make_sessionmaker
from storage.models.campaigns import RfmScore
from storage.models.customers import Customer
from storage.models.messages import Message
from storage.models.outbox import Outbox
from storage.models.purchases import Purchase
from storage.models.service import ChurnScore, ServiceAlert
from storage.models.surveys import CustomerScore
from tests.support.churn_histories import AT_RISK, HEALTHY, generate, insert_generated

NOW = datetime(2026, 11, 23, 19, 30, tzinfo=UTC)
PINNED = Path(__file__).resolve().parent.parent / "data" / "churn_pinned.json"
# Eight of each at-risk kind: about forty crossings for one owner rep in one run, past their 30 a minute.
KINDS = AT_RISK * 8 + HEALTHY * 2


async def _seed(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    sessions = make_sessionmaker(engine)
    generated = generate(list(KINDS), NOW)
    async with sessions() as session, session.begin():
        await insert_generated(session, generated)
        # A second identity of customer 1 (fading) and of customer 2 (overdue), merged into them.
        await session.execute(update(Customer).where(Customer.id == 49).values(merged_into_id=1))
        await session.execute(update(Customer).where(Customer.id == 50).values(merged_into_id=2))
        # Profile scores stand in where no survey was answered; one too old to count.
        session.add(CustomerScore(customer_id=51, csat=1, csat_at=NOW - timedelta(days=3), nps=9, nps_at=NOW))
        session.add(CustomerScore(customer_id=52, nps=2, nps_at=NOW - timedelta(days=400)))
        # A recalled complaint does not count; a complaint in a voice message is not text.
        session.add_all(_said(53, "太慢了，我要退款！", recalled=True) + _said(54, "再也不买了", msgtype="voice"))
        # Purchases of different sizes, so RFM's amount quintiles differ.
        session.add_all(
            Purchase(customer_id=c, reference=f"PIN-{c}", amount_cents=c * 1000, purchased_at=NOW - timedelta(days=c))
            for c in range(3, 60, 4)
        )
    return sessions


def _said(cid: int, text: str, *, recalled: bool = False, msgtype: str = "text") -> list[Message]:
    return [
        Message(
            source_key=f"pin:{cid}",
            channel="archive",
            chat_type="single",
            chat_id=f"single:pin:c{cid}",
            sender_kind="customer",
            sender_id=f"wm_gen_{cid}",
            customer_id=cid,
            member_userid="zhangsan",
            msgtype=msgtype,
            text=text,
            body={},
            sent_at=NOW - timedelta(days=2),
            recalled_at=NOW - timedelta(days=2) if recalled else None,
        )
    ]


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _times(score: ChurnScore) -> list[str | None]:
    return [_when(score.scored_at), _when(score.crossed_at), _when(score.alerted_at)]


async def _snapshot(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    async with sessions() as session:
        scores = (await session.execute(select(ChurnScore).order_by(ChurnScore.customer_id))).scalars()
        outbox = (await session.execute(select(Outbox).order_by(Outbox.id))).scalars()
        alerts = (await session.execute(select(ServiceAlert).order_by(ServiceAlert.alert_key))).scalars()
        rfm = (await session.execute(select(RfmScore).order_by(RfmScore.customer_id))).scalars()
        return {
            "churn": [[s.customer_id, s.risk, s.reasons, s.features, s.at_risk, *_times(s)] for s in scores],
            "outbox": [[o.kind, o.recipient, o.payload, o.idempotency_key, _when(o.not_before)] for o in outbox],
            "alerts": [[a.alert_key, a.kind, a.customer_id, a.member_userid] for a in alerts],
            "rfm": [
                [r.customer_id, r.recency_days, r.frequency, r.monetary_cents, r.r_score, r.f_score, r.m_score, r.tier]
                for r in rfm
            ],
        }


async def test_scores_tiers_and_alerts_match_the_pinned_rows_when_run_on_the_fixture(engine: AsyncEngine) -> None:
    sessions = await _seed(engine)

    days = []
    for offset in (0, 1, 40):
        summary = await run_churn(sessions, NOW + timedelta(days=offset), ChurnPolicy(chunk_size=16))
        rfm = await run_rfm(sessions, NOW + timedelta(days=offset))
        days.append({"run": summary.to_dict(), "rfm_run": rfm.to_dict(), **await _snapshot(sessions)})

    got = json.loads(json.dumps(days, ensure_ascii=False, sort_keys=True))
    if os.environ.get("QUNKE_WRITE_PINNED") == "1":
        PINNED.write_text(json.dumps(got, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    expected = json.loads(PINNED.read_text(encoding="utf-8"))
    for day, (mine, pinned) in enumerate(zip(got, expected, strict=True)):
        for key in pinned:
            assert mine[key] == pinned[key], f"day {day}: {key} differs from the pinned rows"
