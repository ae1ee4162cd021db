"""Deterministic customer histories for churn tests and bench/churn.py: each profile kind is a known outcome.

`generate` builds plain rows (dicts per table) for customers first_id.., each from its own seeded random, so the
same id always gets the same history however the customers are sliced into batches.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.customers import Customer, CustomerEvent, CustomerFollow
from storage.models.messages import Message
from storage.models.purchases import Purchase
from storage.models.surveys import Survey
from storage.models.tickets import Ticket

DAY: Final = timedelta(days=1)
OWNER: Final = "zhangsan"
# Everyday customer lines: none may contain a negative word (tests/unit/test_churn_model.py checks).
CHATTER: Final = (
    "早上好",
    "这个还有货吗？",
    "好的，谢谢",
    "收到了，挺好用的",
    "下周再来看看",
    "颜色有别的吗",
    "发什么快递？",
    "孩子很喜欢",
    "我朋友也想买",
    "活动什么时候开始",
)
# Profile kinds and whether the model should flag them.
AT_RISK: Final = ("fading", "overdue", "unhappy", "ticket", "leaver", "lost")
HEALTHY: Final = ("steady", "seasonal", "new", "new_quiet", "open_ticket", "steady_buyer")


@dataclass
class Generated:
    kinds: dict[int, str] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {
            t: [] for t in ("customers", "follows", "messages", "purchases", "surveys", "tickets", "events")
        }
    )


@dataclass
class _Builder:
    out: Generated
    cid: int
    now: datetime
    rng: random.Random
    rate: float
    seq: int = 0

    def say(self, days_ago: float, text: str | None = None) -> None:
        self.seq += 1
        at = self.now - timedelta(days=days_ago)
        self.out.tables["messages"].append(
            {
                "source_key": f"gen:{self.cid}:{self.seq}",
                "channel": "archive",
                "chat_type": "single",
                "chat_id": f"single:{OWNER}:c{self.cid}",
                "sender_kind": "customer",
                "sender_id": f"wm_gen_{self.cid}",
                "customer_id": self.cid,
                "member_userid": OWNER,
                "msgtype": "text",
                "text": text or self.rng.choice(CHATTER),
                "body": {},
                "sent_at": at,
            }
        )

    def chat(self, from_days: float, to_days: float, per_30: float) -> None:
        """About `per_30` messages per 30 days, spread at random between from_days and to_days ago."""
        span = from_days - to_days
        count = max(0, round(per_30 * span / 30 + self.rng.uniform(-0.5, 0.5)))
        for _ in range(count):
            self.say(self.rng.uniform(to_days, from_days))

    def buy(self, days_ago: float) -> None:
        n = len(self.out.tables["purchases"])
        self.out.tables["purchases"].append(
            {
                "customer_id": self.cid,
                "reference": f"GEN-{self.cid}-{n}",
                "item": "精选咖啡豆",
                "amount_cents": 9900,
                "purchased_at": self.now - timedelta(days=days_ago),
            }
        )

    def every(self, cycle: float, last_days_ago: float, oldest: float = 360) -> None:
        at = last_days_ago
        while at <= oldest:
            self.buy(at + self.rng.uniform(-2, 2) if at > 3 else at)
            at += cycle

    def score(self, kind: str, score: int, days_ago: float) -> None:
        at = self.now - timedelta(days=days_ago)
        self.out.tables["surveys"].append(
            {
                "customer_id": self.cid,
                "kind": kind,
                "trigger": "ticket_solved",
                "channel": "kf",
                "chat_id": "wkGEN",
                "status": "answered",
                "asked_at": at - timedelta(hours=1),
                "expires_at": at + timedelta(hours=47),
                "score": score,
                "answer_text": str(score),
                "answered_at": at,
            }
        )

    def ticket(self, days_ago: float, reopened: int = 0) -> None:
        at = self.now - timedelta(days=days_ago)
        self.out.tables["tickets"].append(
            {
                "customer_id": self.cid,
                "subject": "发货问题",
                "status": "open",
                "priority": "normal",
                "source": "manual",
                "channel": "",
                "chat_id": "",
                "policy": "",
                "sla_stage": 0,
                "reopened": reopened,
                "opened_at": at,
                "updated_at": at,
            }
        )

    def leave_group(self, days_ago: float, chat_id: str) -> None:
        self.out.tables["events"].append(
            {
                "customer_id": self.cid,
                "kind": "left_group",
                "occurred_at": self.now - timedelta(days=days_ago),
                "chat_id": chat_id,
                "detail": {},
                "source_key": f"gen:leave:{self.cid}:{chat_id}",
            }
        )


def generate(kinds: Sequence[str], now: datetime, *, first_id: int = 1, seed: int = 7, rate: float = 10) -> Generated:
    """One customer per kind, ids first_id.. in order; `rate` is a steady customer's messages per 30 days."""
    out = Generated()
    for offset, kind in enumerate(kinds):
        cid = first_id + offset
        b = _Builder(out, cid, now, random.Random(seed * 1_000_003 + cid), rate)
        age = _PROFILES[kind](b)
        active = kind != "lost"
        out.kinds[cid] = kind
        out.tables["customers"].append(
            {
                "id": cid,
                "external_userid": f"wm_gen_{cid}",
                "name": f"客户{cid}",
                "owner_userid": OWNER,
                "first_seen_at": now - timedelta(days=age),
                "became_contact_at": now - timedelta(days=age),
                "lost_at": None if active else now - timedelta(days=5),
                "contact_type": 1,
                "gender": 0,
                "avatar": "",
                "corp_name": "",
            }
        )
        out.tables["follows"].append(
            {
                "customer_id": cid,
                "userid": OWNER,
                "status": "active" if active else "deleted_by_customer",
                "added_at": now - timedelta(days=age),
                "ended_at": None if active else now - timedelta(days=5),
                "remark": "",
                "description": "",
                "state": "",
                "add_way": 0,
            }
        )
    return out


def _steady(b: _Builder) -> float:
    b.chat(360, 0, b.rate)
    return 365


def _steady_buyer(b: _Builder) -> float:
    b.chat(360, 0, b.rate)
    b.every(30, 12)
    return 365


def _seasonal(b: _Builder) -> float:
    # Buys every 90 days and talks only in the fortnight around each purchase; last bought 75 days ago (on cycle),
    # so the last 30 days are quiet, as most of their months are.
    for last in (75, 165, 255, 345):
        b.buy(last)
        b.chat(last + 7, max(0, last - 7), b.rate * 2)
    return 365


def _new(b: _Builder) -> float:
    b.chat(9, 0, b.rate)
    b.buy(8)
    return 10


def _new_quiet(b: _Builder) -> float:
    b.say(44)
    b.say(40)
    return 45


def _open_ticket(b: _Builder) -> float:
    b.chat(360, 0, b.rate)
    b.ticket(3)
    return 365


def _fading(b: _Builder) -> float:
    b.chat(360, 30, b.rate)
    return 365


def _overdue(b: _Builder) -> float:
    b.chat(360, 0, b.rate)
    b.every(30, 100)
    return 365


def _unhappy(b: _Builder) -> float:
    b.chat(360, 0, b.rate)
    b.score("csat", 4, 60)
    b.score("csat", 1, 10)
    return 365


def _ticket(b: _Builder) -> float:
    b.chat(360, 0, b.rate)
    b.ticket(20, reopened=1)
    b.say(5, "都一个星期了还没处理，太慢了")
    return 365


def _leaver(b: _Builder) -> float:
    b.chat(360, 0, b.rate)
    b.leave_group(12, "wrGENa")
    b.leave_group(6, "wrGENb")
    return 365


def _lost(b: _Builder) -> float:
    b.chat(360, 30, b.rate)
    return 365


_PROFILES: Final = {
    "steady": _steady,
    "steady_buyer": _steady_buyer,
    "seasonal": _seasonal,
    "new": _new,
    "new_quiet": _new_quiet,
    "open_ticket": _open_ticket,
    "fading": _fading,
    "overdue": _overdue,
    "unhappy": _unhappy,
    "ticket": _ticket,
    "leaver": _leaver,
    "lost": _lost,
}
_MODELS: Final = (
    ("customers", Customer),
    ("follows", CustomerFollow),
    ("messages", Message),
    ("purchases", Purchase),
    ("surveys", Survey),
    ("tickets", Ticket),
    ("events", CustomerEvent),
)


async def insert_generated(session: AsyncSession, generated: Generated, batch: int = 5000) -> None:
    """Plain executemany inserts, parents first; on PostgreSQL the id sequence moves past the explicit ids."""
    for name, model in _MODELS:
        rows = generated.tables[name]
        for start in range(0, len(rows), batch):
            await session.execute(insert(model), rows[start : start + batch])
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        top = (await session.execute(select(func.max(Customer.id)))).scalar_one()
        await session.execute(text("SELECT setval(pg_get_serial_sequence('customers', 'id'), :top)"), {"top": top})
