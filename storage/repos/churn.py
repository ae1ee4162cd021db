"""Churn scoring reads: one grouped query per signal over a span of customer ids, and batched score upserts.

The reads select plain columns, so they run on the session's connection (Core): the ORM's row loading would cost
more than the queries themselves at 100,000 customers."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypeVarTuple

from sqlalchemy import ColumnElement, DateTime, Row, Select, case, func, literal, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import TypeCoerce

from storage.db import dialect_of
from storage.models.customers import Customer, CustomerEvent, CustomerFollow, FollowStatus
from storage.models.messages import Message, SenderKind
from storage.models.purchases import Purchase
from storage.models.service import ChurnScore
from storage.models.surveys import CustomerScore, Survey, SurveyStatus
from storage.models.tickets import Ticket, TicketStatus
from storage.repos import bulk

_Ts = TypeVarTuple("_Ts")
_Column = InstrumentedAttribute[Any]
# The customer's own messages, with the kind written into the SQL rather than bound: PostgreSQL's generic plan for
# a prepared statement (used after five executions) cannot match a bound parameter to the partial index
# ix_messages_customer_spoke, and fell back to the customer/time index with a heap fetch per message.
CUSTOMER_SPOKE: Final = Message.sender_kind == literal(SenderKind.CUSTOMER.value, literal_execute=True)


@dataclass(frozen=True, slots=True)
class Span:
    """Customers lo..hi (ids), plus merged profiles outside the range whose person is inside it."""

    lo: int
    hi: int
    extra: tuple[int, ...] = ()

    def where(self, column: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
        inside = column.between(self.lo, self.hi)
        return or_(inside, column.in_(self.extra)) if self.extra else inside


@dataclass(frozen=True, slots=True)
class CustomerRow:
    id: int
    name: str
    owner_userid: str | None
    first_seen_at: datetime
    lost_at: datetime | None


@dataclass(frozen=True, slots=True)
class PreviousScore:
    risk: float
    at_risk: bool
    crossed_at: datetime | None
    alerted_at: datetime | None


async def merged_roots(session: AsyncSession) -> dict[int, int]:
    """Every merged profile and the profile it is merged into (few rows: merges are a manager's act)."""
    rows = await _all(session, select(Customer.id, Customer.merged_into_id).where(Customer.merged_into_id.is_not(None)))
    return {cid: parent for cid, parent in rows if parent is not None}


async def customer_chunk(session: AsyncSession, after_id: int, limit: int) -> list[CustomerRow]:
    """The next `limit` profiles that stand on their own (not merged), by id."""
    rows = await _all(
        session,
        select(
            Customer.id,
            Customer.name,
            Customer.owner_userid,
            _utc_read(session, Customer.first_seen_at),
            _utc_read(session, Customer.lost_at),
        )
        .where(Customer.id > after_id, Customer.merged_into_id.is_(None))
        .order_by(Customer.id)
        .limit(limit),
    )
    return [CustomerRow(*row) for row in rows]


async def message_buckets(session: AsyncSession, span: Span, bounds: Sequence[datetime]) -> dict[int, tuple[int, ...]]:
    """Customer messages per window, newest first: window k is [bounds[k+1], bounds[k]).

    One pass over the span's messages (the customer/time index) with one comparison per window: the database
    counts the messages since each lower bound (`count(*) FILTER`) and hands back the differences (it computes
    each identical aggregate once), so Python only unpacks the rows."""
    since = [func.count().filter(Message.sent_at >= bounds[k + 1]) for k in range(len(bounds) - 1)]
    windows = [since[0]] + [since[k] - since[k - 1] for k in range(1, len(since))]
    rows = await _all(
        session,
        select(Message.customer_id, *windows)
        .where(
            span.where(Message.customer_id),
            Message.sent_at >= bounds[-1],
            Message.sent_at < bounds[0],
            CUSTOMER_SPOKE,
        )
        .group_by(Message.customer_id),
    )
    return {cid: tuple(counts) for cid, *counts in rows if cid is not None}


async def recent_texts(
    session: AsyncSession, span: Span, since: datetime, containing: Sequence[str] = ()
) -> list[tuple[int, str]]:
    """What customers wrote since `since` (text messages only), for the negative-word signal; with `containing`,
    only texts with at least one of those words (one regular expression in the database)."""
    stmt = select(Message.customer_id, Message.text).where(
        span.where(Message.customer_id),
        Message.sent_at >= since,
        CUSTOMER_SPOKE,
        Message.msgtype == "text",
        Message.recalled_at.is_(None),
    )
    if containing:
        stmt = stmt.where(Message.text.regexp_match("|".join(re.escape(word) for word in containing)))
    rows = await _all(session, stmt)
    return [(cid, text) for cid, text in rows if cid is not None]


async def purchase_times(session: AsyncSession, span: Span) -> dict[int, list[datetime]]:
    """Each customer's purchase times, oldest first; on PostgreSQL one array per customer (a row per purchase
    cost more in row handling than the query itself)."""
    if dialect_of(session) == "postgresql":
        at = type_coerce(Purchase.purchased_at, DateTime(timezone=True))
        grouped = await _all(
            session,
            select(Purchase.customer_id, func.array_agg(aggregate_order_by(at, Purchase.purchased_at)))
            .where(span.where(Purchase.customer_id))
            .group_by(Purchase.customer_id),
        )
        return {cid: list(times) for cid, times in grouped}
    rows = await _all(
        session,
        select(Purchase.customer_id, Purchase.purchased_at)
        .where(span.where(Purchase.customer_id))
        .order_by(Purchase.customer_id, Purchase.purchased_at),
    )
    out: dict[int, list[datetime]] = defaultdict(list)
    for cid, when in rows:
        out[cid].append(when)
    return out


async def survey_scores(session: AsyncSession, span: Span, since: datetime) -> dict[tuple[int, str], list[int]]:
    """The latest two answered scores per customer and kind (csat, nps) since `since`, newest first."""
    ranked = (
        select(
            Survey.customer_id,
            Survey.kind,
            Survey.score,
            func.row_number()
            .over(
                partition_by=(Survey.customer_id, Survey.kind), order_by=(Survey.answered_at.desc(), Survey.id.desc())
            )
            .label("rn"),
        )
        .where(
            span.where(Survey.customer_id),
            Survey.status == SurveyStatus.ANSWERED,
            Survey.score.is_not(None),
            Survey.answered_at >= since,
        )
        .subquery()
    )
    rows = await _all(
        session,
        select(ranked.c.customer_id, ranked.c.kind, ranked.c.score)
        .where(ranked.c.rn <= 2)
        .order_by(ranked.c.customer_id, ranked.c.kind, ranked.c.rn),
    )
    out: dict[tuple[int, str], list[int]] = defaultdict(list)
    for cid, kind, score in rows:
        out[(cid, kind)].append(int(score))
    return out


async def profile_scores(session: AsyncSession, span: Span, since: datetime) -> dict[tuple[int, str], int]:
    """The latest CSAT / NPS on the profile (customer_scores), when recent enough."""
    rows = await _all(
        session,
        select(
            CustomerScore.customer_id,
            CustomerScore.csat,
            CustomerScore.csat_at,
            CustomerScore.nps,
            CustomerScore.nps_at,
        ).where(span.where(CustomerScore.customer_id)),
    )
    out: dict[tuple[int, str], int] = {}
    for cid, csat, csat_at, nps, nps_at in rows:
        if csat is not None and csat_at is not None and csat_at >= since:
            out[(cid, "csat")] = int(csat)
        if nps is not None and nps_at is not None and nps_at >= since:
            out[(cid, "nps")] = int(nps)
    return out


async def open_tickets(session: AsyncSession, span: Span) -> dict[int, tuple[int, int]]:
    """Unresolved tickets (open or pending) per customer, and how many of them were reopened."""
    rows = await _all(
        session,
        select(Ticket.customer_id, func.count(), func.sum(case((Ticket.reopened > 0, 1), else_=0)))
        .where(span.where(Ticket.customer_id), Ticket.status.in_((TicketStatus.OPEN, TicketStatus.PENDING)))
        .group_by(Ticket.customer_id),
    )
    return {cid: (int(n), int(reopened or 0)) for cid, n, reopened in rows}


async def event_counts(session: AsyncSession, span: Span, kinds: Sequence[str], since: datetime) -> dict[int, int]:
    rows = await _all(
        session,
        select(CustomerEvent.customer_id, func.count())
        .where(
            span.where(CustomerEvent.customer_id),
            CustomerEvent.kind.in_(list(kinds)),
            CustomerEvent.occurred_at >= since,
        )
        .group_by(CustomerEvent.customer_id),
    )
    return {cid: int(n) for cid, n in rows}


async def active_follows(session: AsyncSession, span: Span) -> dict[int, int]:
    rows = await _all(
        session,
        select(CustomerFollow.customer_id, func.count())
        .where(span.where(CustomerFollow.customer_id), CustomerFollow.status == FollowStatus.ACTIVE)
        .group_by(CustomerFollow.customer_id),
    )
    return {cid: int(n) for cid, n in rows}


async def previous_scores(session: AsyncSession, span: Span) -> dict[int, PreviousScore]:
    """The span's previous scores that carry state: at risk, or stamped with a crossing or an alert. A score with
    none of these moves a customer exactly as no score does, so those rows (most of them) stay in the database."""
    rows = await _all(
        session,
        select(
            ChurnScore.customer_id,
            ChurnScore.risk,
            ChurnScore.at_risk,
            _utc_read(session, ChurnScore.crossed_at),
            _utc_read(session, ChurnScore.alerted_at),
        ).where(
            ChurnScore.customer_id.between(span.lo, span.hi),
            or_(ChurnScore.at_risk.is_(True), ChurnScore.crossed_at.is_not(None), ChurnScore.alerted_at.is_not(None)),
        ),
    )
    return {
        cid: PreviousScore(risk, at_risk, _utc(crossed), _utc(alerted)) for cid, risk, at_risk, crossed, alerted in rows
    }


async def upsert_scores(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """PostgreSQL: COPY into a stage and one INSERT ... SELECT ... ON CONFLICT; SQLite: one executemany upsert."""
    if not rows:
        return
    changed = ("risk", "reasons", "features", "at_risk", "scored_at", "crossed_at", "alerted_at")
    if dialect_of(session) == "postgresql":
        await bulk.copy_upsert(session, ChurnScore, rows, "customer_id", changed)
        return
    stmt = sqlite_insert(ChurnScore)
    stmt = stmt.on_conflict_do_update(
        index_elements=["customer_id"], set_={name: stmt.excluded[name] for name in changed}
    )
    await session.execute(stmt, list(rows))


async def _all(session: AsyncSession, stmt: Select[*_Ts]) -> Sequence[Row[*_Ts]]:
    """Every row at once on the Core connection: no ORM loading, and no driver round trip per row."""
    return (await (await session.connection()).execute(stmt)).all()


def _utc_read(session: AsyncSession, column: _Column) -> TypeCoerce[Any] | _Column:
    """A UTC time column read as the driver gives it on PostgreSQL (asyncpg already hands back aware UTC times):
    the UtcDateTime decorator's per-value Python call cost ~1 s per 100,000 customers' purchases."""
    return type_coerce(column, DateTime(timezone=True)) if dialect_of(session) == "postgresql" else column


def _utc(value: datetime | None) -> datetime | None:
    """Aggregates may come back naive on SQLite; every stored time is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
