"""Many private alerts queued at once, exactly as `alerts.alert_member` would queue them one after another.

A daily job that alerts thousands of reps' customers would otherwise spend five queries per alert. Here one query
reads every member's recent send stamps, one counts their pending rows, one reads (and on PostgreSQL locks) their
pending digests; then the same rules as `alert_member` run in memory, in order: a member's first alerts of the
minute go out one per row, the rest fold into a digest. One insert writes the new rows (ids ascending in alert
order), plus one update per digest that was already pending and grew.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.outbox.messages import Text
from services.outbox.queue import content_key
from services.service.alerts import DEFAULT_POLICY, Alert, AlertPolicy, render, render_digest, summary_line
from storage.models.outbox import OutboxKind, Priority
from storage.repos import outbox_batch, quotas
from storage.repos.outbox import NewOutbox

KIND = OutboxKind.APP_MESSAGE


@dataclass(frozen=True, slots=True)
class MemberAlert:
    userid: str
    alert: Alert
    key: str


@dataclass(slots=True)
class _Pending:
    """One pending row of a member: already in the outbox (`row_id`) or new in this batch (`new_index`)."""

    payload: dict[str, Any]
    row_id: int | None = None
    new_index: int | None = None
    grown: bool = False
    userid: str = ""
    key: str = ""
    content_key: str | None = None  # of the payload it was made with


@dataclass(slots=True)
class _Member:
    """What `alert_member` looks at for one member: how many rows are pending, and which of them are digests."""

    pending: int = 0
    digests: list[_Pending] = field(default_factory=list)


@dataclass(slots=True)
class _Plan:
    new: list[_Pending] = field(default_factory=list)
    targets: list[_Pending] = field(default_factory=list)  # per alert, the row that carries it

    def rows(self, now: datetime) -> list[NewOutbox]:
        # A digest that grew after it was made is written with its final items, as the update would leave it.
        return [
            NewOutbox(
                kind=KIND,
                recipient=slot.userid,
                payload=slot.payload,
                priority=Priority.HIGH,
                idempotency_key=f"{KIND}:{slot.key}",
                not_before=now,
                content_key=None if slot.grown else slot.content_key,
            )
            for slot in self.new
        ]


async def alert_members(
    session: AsyncSession, now: datetime, alerts: Sequence[MemberAlert], policy: AlertPolicy = DEFAULT_POLICY
) -> list[int]:
    """Queue every alert (in order); the outbox id that carries each one."""
    if not alerts:
        return []
    members = sorted({a.userid for a in alerts})
    recent = await quotas.member_stamps(session, members, now - policy.window)
    state: dict[str, _Member] = defaultdict(_Member)
    for userid, count in (await outbox_batch.pending_counts(session, KIND, members)).items():
        state[userid].pending = count
    for row in await outbox_batch.pending_digests(session, KIND, members):
        state[row.recipient].digests.append(_Pending(dict(row.payload), row_id=row.id))
    plan = _Plan()
    for item in alerts:
        plan.targets.append(_place(plan, state[item.userid], len(recent.get(item.userid, [])), item, policy))
    new_ids = await outbox_batch.insert_many_if_new(session, plan.rows(now), now)
    grown = {p.row_id: p.payload for m in state.values() for p in m.digests if p.grown and p.row_id is not None}
    updated = await outbox_batch.update_digests(session, grown, now)
    if updated != set(grown):
        # Cannot happen while the digests are locked (PostgreSQL) or the database has one writer (SQLite); if it
        # did, the caller's transaction rolls back with its claims, so the alerts are retried, never lost.
        raise RuntimeError(f"pending digest rows {sorted(set(grown) - updated)} were taken while alerts joined them")
    return [t.row_id if t.row_id is not None else new_ids[t.new_index or 0] for t in plan.targets]


def _place(plan: _Plan, member: _Member, recent: int, item: MemberAlert, policy: AlertPolicy) -> _Pending:
    """alert_member's rule for one alert: its own row while the minute has room, else into a digest."""
    if recent + member.pending < policy.per_minute - 1:
        return _new_row(plan, member, item.userid, render(item.alert, policy).to_payload(), item.key)
    summary = summary_line(item.alert, policy)
    for slot in reversed(member.digests):
        digest = slot.payload.get("digest")
        if digest is not None and len(digest) < policy.digest_max_items:
            items = [*digest, summary]
            slot.payload = {**Text(render_digest(items)).to_payload(), "digest": items}
            slot.grown = True
            return slot
    payload = {**Text(render_digest([summary])).to_payload(), "digest": [summary]}
    return _new_row(plan, member, item.userid, payload, f"digest:{item.key}")


def _new_row(plan: _Plan, member: _Member, userid: str, payload: dict[str, Any], key: str) -> _Pending:
    slot = _Pending(payload, new_index=len(plan.new), userid=userid, key=key)
    slot.content_key = content_key(KIND, userid, payload)
    plan.new.append(slot)
    member.pending += 1
    if "digest" in payload:
        member.digests.append(slot)
    return slot
